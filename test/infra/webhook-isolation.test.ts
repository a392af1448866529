/**
 * Webhook isolation in the deployment:
 * - the delivery queue (fair queue, group = organization), its dead-letter queue, the consumer
 *   and its event source mapping follow DELIVERY_QUEUE_SETTINGS (which the local queue reads);
 * - least privilege: the processor may only send to the queue, the consumer only consume it and
 *   get/update table items;
 * - alarms on the dead-letter queue's depth, the oldest message's age and consumer errors;
 * - the local-only loopback allowance (WEBHOOK_ALLOW_LOOPBACK, which the local runtime and the
 *   tests set so receivers on 127.0.0.1 can be reached) is never set on any deployed function.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { DELIVERY_CONSUMER_TIMEOUT_SECONDS, DELIVERY_QUEUE_SETTINGS } from '../../functions/deliveries/settings';
import { WEBHOOK_SECRET_PURPOSE } from '../../domain/webhooks/webhooks';
import { DELIVERY_KMS_ACTIONS, DELIVERY_TABLE_ACTIONS, STREAM_ALARMS } from '../../infra/stacks/streams-stack';
import { actionsOf, buildStacks, resourcesOf, statementsForRole, alarmsOn } from './synth';

const ALLOWANCE = 'WEBHOOK_ALLOW_LOOPBACK';
// One synthesis for the file (synthesis is the slow part); prod is the stage that matters most.
const stacks = buildStacks({ stage: 'prod' });
// The data stack's secrets key, plugged into the streams stack through webhookSecretsKey.
const secretsKeyId = stacks.data.getLogicalId(stacks.data.secretsKey.node.defaultChild as CfnFunction);
const templates = Object.values(stacks).map((stack) => Template.fromStack(stack));
const { streams } = stacks;
const template = Template.fromStack(streams);
const idOf = (construct: { node: { defaultChild?: unknown } }) => streams.getLogicalId(construct.node.defaultChild as CfnFunction);
const queueId = idOf(streams.deliveryQueue);
const dlqId = idOf(streams.deliveryDeadLetterQueue);
const consumerId = idOf(streams.deliveryConsumer.function);
const processorId = idOf(streams.processor.function);
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const S = DELIVERY_QUEUE_SETTINGS;

describe('delivery queue', () => {
  const queues = resourcesOf(template, 'AWS::SQS::Queue');

  it('is a standard queue (a fair queue through message groups), encrypted, with a redrive to its DLQ after maxReceiveCount', () => {
    const queue = queues[queueId]!;
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: S.visibilityTimeoutSeconds,
      MessageRetentionPeriod: S.retentionSeconds,
      RedrivePolicy: { deadLetterTargetArn: arnOf(dlqId), maxReceiveCount: S.maxReceiveCount },
    });
    expect(queue.Properties).not.toHaveProperty('FifoQueue');
    expect(S.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * DELIVERY_CONSUMER_TIMEOUT_SECONDS);
    expect(queues[dlqId]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: S.deadLetterRetentionSeconds });
    for (const id of [queueId, dlqId]) expect(queues[id]!.DeletionPolicy).toBe('Retain');
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

  it('the consumer runs the delivery handler with the queue URL and the table name, within the visibility timeout', () => {
    const fn = resourcesOf(template, 'AWS::Lambda::Function')[consumerId]!;
    expect(fn.Properties).toMatchObject({ Handler: 'index.handler', Timeout: DELIVERY_CONSUMER_TIMEOUT_SECONDS });
    expect(fn.Properties!.Environment.Variables.DELIVERY_QUEUE_URL).toEqual({ Ref: queueId });
    expect(fn.Properties!.Environment.Variables.TABLE_NAME).toBeDefined();
    const processor = resourcesOf(template, 'AWS::Lambda::Function')[processorId]!;
    expect(processor.Properties!.Environment.Variables.DELIVERY_QUEUE_URL).toEqual({ Ref: queueId });
  });
});

describe('delivery least privilege', () => {
  const sqsOf = (roleFn: { role: { node: { defaultChild?: unknown } } }) =>
    statementsForRole(template, idOf(roleFn.role)).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));

  it('the processor may send to the delivery queue, never receive or delete', () => {
    // A statement may name the stream's dead-letter queue too (minimized policies).
    const onQueue = sqsOf(streams.processor).filter((s) => [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(arnOf(queueId))));
    const actions = onQueue.flatMap(actionsOf);
    expect(actions).toContain('sqs:SendMessage');
    for (const forbidden of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:*']) expect(actions).not.toContain(forbidden);
  });

  it('the consumer may consume the delivery queue (with ChangeMessageVisibility for backoff) and send to it (throttled messages), nothing else in SQS', () => {
    const statements = sqsOf(streams.deliveryConsumer);
    for (const s of statements) expect(s.Resource).toEqual(arnOf(queueId));
    const actions = statements.flatMap(actionsOf);
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:SendMessage']));
    expect(actions).not.toContain('sqs:*');
  });

  it('the consumer gets and updates table items only: no query, put, delete, scan or index', () => {
    const dynamo = statementsForRole(template, idOf(streams.deliveryConsumer.role)).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap(actionsOf).sort()).toEqual([...DELIVERY_TABLE_ACTIONS].sort());
    for (const s of dynamo) expect(JSON.stringify(s.Resource)).not.toContain('index');
  });
});

describe('webhook secrets key', () => {
  const kmsOf = (roleFn: { role: { node: { defaultChild?: unknown } } }) =>
    statementsForRole(template, idOf(roleFn.role)).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));

  it('the consumer may decrypt (and seal legacy secrets) with that key only, only under the webhook-secret purpose', () => {
    const statements = kmsOf(streams.deliveryConsumer);
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements[0]!).sort()).toEqual([...DELIVERY_KMS_ACTIONS].sort());
    expect(JSON.stringify(statements[0]!.Resource)).toContain(secretsKeyId);
    expect((statements[0] as { Condition?: unknown }).Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': WEBHOOK_SECRET_PURPOSE } });
    const fn = resourcesOf(template, 'AWS::Lambda::Function')[consumerId]!;
    expect(JSON.stringify(fn.Properties!.Environment.Variables.SECRETS_KMS_KEY_ID)).toContain(secretsKeyId);
  });

  it('the processor gets no key: it never signs', () => {
    expect(kmsOf(streams.processor)).toEqual([]);
    const processor = resourcesOf(template, 'AWS::Lambda::Function')[processorId]!;
    expect(processor.Properties!.Environment.Variables).not.toHaveProperty('SECRETS_KMS_KEY_ID');
  });
});

describe('delivery alarms', () => {
  const on = (metric: string, value: unknown) => alarmsOn(template, metric, value);

  it('dead-letter depth: any message', () => {
    expect(on('ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [dlqId, 'QueueName'] })).toEqual([
      expect.objectContaining({ Namespace: 'AWS/SQS', Statistic: 'Maximum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' }),
    ]);
  });

  it('oldest message age on the delivery queue', () => {
    expect(on('ApproximateAgeOfOldestMessage', { 'Fn::GetAtt': [queueId, 'QueueName'] })).toEqual([
      expect.objectContaining({ Namespace: 'AWS/SQS', Statistic: 'Maximum', Threshold: STREAM_ALARMS.deliveryAge.thresholdSeconds }),
    ]);
  });

  it('consumer errors', () => {
    expect(on('Errors', { Ref: consumerId })).toEqual([expect.objectContaining({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 0 })]);
  });
});

describe('the loopback allowance stays local', () => {
  it('no function of any stack carries it in its environment', () => {
    let functions = 0;
    for (const template of templates) {
      for (const fn of Object.values(resourcesOf(template, 'AWS::Lambda::Function'))) {
        functions++;
        expect(Object.keys(fn.Properties?.Environment?.Variables ?? {})).not.toContain(ALLOWANCE);
      }
    }
    expect(functions).toBeGreaterThan(0);
  });

  it('no CDK source mentions it (only infra/local/ and the tests do)', () => {
    const dir = path.resolve(__dirname, '../../infra/stacks');
    const files = readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(readFileSync(path.join(dir, file), 'utf8'), file).not.toContain(ALLOWANCE);
    expect(readFileSync(path.resolve(__dirname, '../../infra/app.ts'), 'utf8')).not.toContain(ALLOWANCE);
  });
});
