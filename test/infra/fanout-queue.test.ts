/**
 * The fan-out wake-up queue in the deployment (coalescing waits outside the stream batch):
 * - the queue (a delay queue, message group = organization), its dead-letter queue, the consumer
 *   and its event source mapping follow FANOUT_QUEUE_SETTINGS (which the local queue reads);
 * - least privilege: the processor may only send to the queue; the consumer only consume it
 *   (ChangeMessageVisibility puts an early wake-up back) and get/update table items;
 * - alarms on the dead-letter queue's depth, the oldest message's age and consumer errors;
 * - the consumer's bundle (shipped options) stays at or below 500 KiB, without the SDK.
 */
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { FAN_OUT_TUNING } from '../../domain/propagation/stream';
import { FANOUT_CONSUMER_TIMEOUT_SECONDS, FANOUT_QUEUE_SETTINGS } from '../../functions/fanout/settings';
import { LAMBDA_BUILD_OPTIONS } from '../../infra/bundling/options';
import { REPO_ROOT } from '../../infra/stacks/house-function';
import { FANOUT_TABLE_ACTIONS, STREAM_ALARMS } from '../../infra/stacks/streams-stack';
import { actionsOf, buildStacks, resourcesOf, statementsForRole, alarmsOn } from './synth';

const { streams } = buildStacks({ stage: 'prod' });
const template = Template.fromStack(streams);
const idOf = (construct: { node: { defaultChild?: unknown } }) => streams.getLogicalId(construct.node.defaultChild as CfnFunction);
const queueId = idOf(streams.fanOutQueue);
const dlqId = idOf(streams.fanOutDeadLetterQueue);
const consumerId = idOf(streams.fanOutConsumer.function);
const processorId = idOf(streams.processor.function);
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const S = FANOUT_QUEUE_SETTINGS;

describe('fan-out wake-up queue', () => {
  const queues = resourcesOf(template, 'AWS::SQS::Queue');

  it('is a standard queue, encrypted, TLS only, with a redrive to its DLQ after maxReceiveCount', () => {
    expect(queues[queueId]!.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: S.visibilityTimeoutSeconds,
      MessageRetentionPeriod: S.retentionSeconds,
      RedrivePolicy: { deadLetterTargetArn: arnOf(dlqId), maxReceiveCount: S.maxReceiveCount },
    });
    expect(queues[queueId]!.Properties).not.toHaveProperty('FifoQueue');
    expect(queues[dlqId]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: S.deadLetterRetentionSeconds });
    for (const id of [queueId, dlqId]) {
      expect(queues[id]!.DeletionPolicy).toBe('Retain');
      const policies = Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy')).filter(
        (p) => JSON.stringify(p.Properties!.Queues) === JSON.stringify([{ Ref: id }]),
      );
      expect(JSON.stringify(policies)).toContain('aws:SecureTransport');
    }
  });

  it("a crashed consumer's message is back (visibility timeout) before a waiting job counts as lost", () => {
    expect(S.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * FANOUT_CONSUMER_TIMEOUT_SECONDS);
    expect(FAN_OUT_TUNING.lostAfterMs).toBeGreaterThan(S.visibilityTimeoutSeconds * 1000);
  });

  it('feeds the consumer: batch size, bounded concurrency and partial batch responses from the settings', () => {
    const mapping = Object.values(resourcesOf(template, 'AWS::Lambda::EventSourceMapping')).find(
      (m) => JSON.stringify(m.Properties?.EventSourceArn) === JSON.stringify(arnOf(queueId)),
    );
    expect(mapping?.Properties).toMatchObject({
      FunctionName: { Ref: consumerId },
      BatchSize: S.batchSize,
      ScalingConfig: { MaximumConcurrency: S.maximumConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(S.maximumConcurrency).toBeGreaterThanOrEqual(2);
  });

  it('the consumer runs functions/fanout/consumer.ts with the queue URL and the table name; the processor gets the queue URL', async () => {
    const fn = resourcesOf(template, 'AWS::Lambda::Function')[consumerId]!;
    expect(fn.Properties).toMatchObject({ Handler: 'index.handler', Timeout: FANOUT_CONSUMER_TIMEOUT_SECONDS, Architectures: ['arm64'] });
    expect(fn.Properties!.Environment.Variables.FANOUT_QUEUE_URL).toEqual({ Ref: queueId });
    expect(fn.Properties!.Environment.Variables.TABLE_NAME).toBeDefined();
    const processor = resourcesOf(template, 'AWS::Lambda::Function')[processorId]!;
    expect(processor.Properties!.Environment.Variables.FANOUT_QUEUE_URL).toEqual({ Ref: queueId });
    const mod = (await import(path.join(REPO_ROOT, 'functions/fanout/consumer.ts'))) as Record<string, unknown>;
    expect(typeof mod['handler']).toBe('function');
  });
});

describe('fan-out least privilege', () => {
  const sqsOf = (roleFn: { role: { node: { defaultChild?: unknown } } }) =>
    statementsForRole(template, idOf(roleFn.role)).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
  const naming = (id: string) => (s: { Resource?: unknown }) => [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(arnOf(id)));

  it('the processor may send to the fan-out queue, never receive or delete', () => {
    const actions = sqsOf(streams.processor).filter(naming(queueId)).flatMap(actionsOf);
    expect(actions).toContain('sqs:SendMessage');
    for (const forbidden of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:*']) expect(actions).not.toContain(forbidden);
  });

  it('the consumer may consume the fan-out queue only (ChangeMessageVisibility for an early wake-up), and sends nothing', () => {
    const statements = sqsOf(streams.fanOutConsumer);
    for (const s of statements) expect(s.Resource).toEqual(arnOf(queueId));
    const actions = statements.flatMap(actionsOf);
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']));
    for (const forbidden of ['sqs:SendMessage', 'sqs:*']) expect(actions).not.toContain(forbidden);
  });

  it('the consumer gets and updates table items only: no query, put, delete, scan, index or stream', () => {
    const dynamo = statementsForRole(template, idOf(streams.fanOutConsumer.role)).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap(actionsOf).sort()).toEqual([...FANOUT_TABLE_ACTIONS].sort());
    for (const s of dynamo) expect(JSON.stringify(s.Resource)).not.toMatch(/index|stream/i);
    expect(statementsForRole(template, idOf(streams.fanOutConsumer.role)).some((s) => actionsOf(s).some((a) => a.startsWith('kms:')))).toBe(false);
  });
});

describe('fan-out alarms', () => {
  const on = (metric: string, value: unknown) => alarmsOn(template, metric, value);

  it('dead-letter depth: any message', () => {
    expect(on('ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [dlqId, 'QueueName'] })).toEqual([
      expect.objectContaining({ Namespace: 'AWS/SQS', Statistic: 'Maximum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' }),
    ]);
  });

  it('oldest message age on the fan-out queue', () => {
    expect(on('ApproximateAgeOfOldestMessage', { 'Fn::GetAtt': [queueId, 'QueueName'] })).toEqual([
      expect.objectContaining({ Namespace: 'AWS/SQS', Statistic: 'Maximum', Threshold: STREAM_ALARMS.fanOutAge.thresholdSeconds }),
    ]);
  });

  it('consumer errors', () => {
    expect(on('Errors', { Ref: consumerId })).toEqual([expect.objectContaining({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 0 })]);
  });
});

describe('fan-out consumer bundle', () => {
  it('is at most 500 KiB with the options the stack ships, without the SDK', async () => {
    const result = await build({ ...LAMBDA_BUILD_OPTIONS, entryPoints: [path.join(REPO_ROOT, 'functions/fanout/consumer.ts')], absWorkingDir: REPO_ROOT });
    const js = result.outputFiles!.find((f) => f.path.endsWith('.mjs'))!;
    expect(js.contents.byteLength).toBeLessThanOrEqual(500 * 1024);
    const inputs = Object.entries(Object.values(result.metafile!.outputs)[0]!.inputs).filter(([, i]) => i.bytesInOutput > 0);
    expect(inputs.filter(([p]) => p.includes('node_modules/@aws-sdk/'))).toEqual([]);
  }, 60_000);
});
