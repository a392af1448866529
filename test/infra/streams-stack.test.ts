/**
 * The streams stack: the stream processor, its event source mapping (derived from STREAM_SETTINGS,
 * which the local poller reads too: every expectation below is computed from the settings object,
 * never copied), the dead-letter queue, the event bus, least-privilege access and the alarms.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { ENTITY } from '../../domain/kernel/keys';
import { TABLE_DEFINITION } from '../../domain/kernel/table';
import { STREAM_SETTINGS, type StreamSettings } from '../../functions/streams/settings';
import { DataStack } from '../../infra/stacks/data-stack';
import { REPO_ROOT, TABLE_READ_ACTIONS, TABLE_WRITE_ACTIONS, XRAY_WRITE_ACTIONS } from '../../infra/stacks/house-function';
import { STREAM_ALARMS, StreamsStack } from '../../infra/stacks/streams-stack';
import { actionsOf, allStatements, buildStacks, grants, onlyResource, resourcesOf, statementsForRole, type CfnResource } from './synth';

// Prepare (one synthesis for the file)
const { data, streams } = buildStacks();
const template = Template.fromStack(streams);
const dataTemplate = Template.fromStack(data);
const idOf = (construct: { node: { defaultChild?: unknown } }) => streams.getLogicalId(construct.node.defaultChild as CfnFunction);
const processorId = idOf(streams.processor.function);
const roleId = idOf(streams.processor.role);
const queueId = idOf(streams.deadLetterQueue);
const busId = idOf(streams.eventBus);

/** The `Fn::ImportValue` name the data stack exports for GetAtt Table.<attribute> or Ref Table. */
function dataExport(value: unknown): { 'Fn::ImportValue': string } {
  const outputs = dataTemplate.toJSON().Outputs as Record<string, { Value: unknown; Export?: { Name: string } }>;
  const found = Object.values(outputs).find((o) => o.Export && JSON.stringify(o.Value) === JSON.stringify(value));
  if (!found) throw new Error(`the data stack exports no ${JSON.stringify(value)}`);
  return { 'Fn::ImportValue': found.Export!.Name };
}
const [tableId] = onlyResource(dataTemplate, 'AWS::DynamoDB::GlobalTable');
const tableArn = dataExport({ 'Fn::GetAtt': [tableId, 'Arn'] });
const streamArn = dataExport({ 'Fn::GetAtt': [tableId, 'StreamArn'] });

// --- The mapping, as the settings say it must be ------------------------------------------------

/** CloudFormation properties of AWS::Lambda::EventSourceMapping that a StreamSettings determines. */
function expectedMapping(s: Readonly<StreamSettings>) {
  return {
    StartingPosition: s.startingPosition,
    BatchSize: s.batchSize,
    MaximumBatchingWindowInSeconds: s.maxBatchingWindowSeconds,
    MaximumRetryAttempts: s.retryAttempts,
    BisectBatchOnFunctionError: s.bisectBatchOnFunctionError,
    MaximumRecordAgeInSeconds: s.maxRecordAgeSeconds,
    ParallelizationFactor: s.parallelizationFactor,
    Enabled: true,
  };
}

/** Lambda event filtering, for the subset of the pattern language a literal list uses. */
function matches(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    for (const p of pattern) if (typeof p !== 'string') throw new Error(`unsupported filter rule ${JSON.stringify(p)}`);
    return typeof event === 'string' && pattern.includes(event);
  }
  if (pattern === null || typeof pattern !== 'object') throw new Error(`unsupported filter ${JSON.stringify(pattern)}`);
  if (event === null || typeof event !== 'object') return false;
  return Object.entries(pattern).every(([key, sub]) => matches(sub, (event as Record<string, unknown>)[key]));
}

/** A stream record of an item of `entity`, shaped as Lambda sees it (REMOVE has no new image, INSERT no old one). */
function streamRecord(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', entity: string) {
  const image = { PK: { S: 'ORG#o#CARD#c' }, SK: { S: '#META' }, entity: { S: entity } };
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ...(eventName !== 'REMOVE' ? { NewImage: image } : {}),
      ...(eventName !== 'INSERT' ? { OldImage: image } : {}),
      StreamViewType: TABLE_DEFINITION.streamViewType,
    },
  };
}

/** The table stream's mapping (the stack also maps the delivery queue to its consumer). */
function mappingOf(t: Template): CfnResource {
  const streamMappings = Object.values(resourcesOf(t, 'AWS::Lambda::EventSourceMapping')).filter((m) => m.Properties?.StartingPosition !== undefined);
  if (streamMappings.length !== 1) throw new Error(`Expected one stream mapping, found ${streamMappings.length}`);
  return streamMappings[0]!;
}

/** What any template built from `settings` must satisfy. */
function assertMappingFollows(t: Template, settings: Readonly<StreamSettings>) {
  const props = mappingOf(t).Properties!;
  expect(props).toMatchObject(expectedMapping(settings));
  if (settings.reportBatchItemFailures) expect(props.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  else expect(props.FunctionResponseTypes ?? []).toEqual([]);

  const patterns = (props.FilterCriteria.Filters as Array<{ Pattern: string }>).map((f) => JSON.parse(f.Pattern) as unknown);
  const everyEntity = [...new Set([...Object.values(ENTITY), ...settings.entities])];
  for (const eventName of ['INSERT', 'MODIFY', 'REMOVE'] as const) {
    for (const entity of everyEntity) {
      const wanted = settings.eventNames.includes(eventName) && settings.entities.includes(entity);
      const got = patterns.some((p) => matches(p, streamRecord(eventName, entity)));
      expect(got, `${eventName} of ${entity}`).toBe(wanted);
    }
  }
}

describe('event source mapping', () => {
  const mapping = mappingOf(template).Properties!;

  it('reads the table stream exported by the data stack and invokes the processor', () => {
    expect(mapping.EventSourceArn).toEqual(streamArn);
    expect(mapping.FunctionName).toEqual({ Ref: processorId });
  });

  it('takes every setting from STREAM_SETTINGS, filters included', () => {
    assertMappingFollows(template, STREAM_SETTINGS);
  });

  it('bisects on error, reports partial batch failures, and bounds retries and record age', () => {
    expect(mapping.BisectBatchOnFunctionError).toBe(true);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.MaximumRetryAttempts).toBeGreaterThanOrEqual(0);
    expect(mapping.MaximumRetryAttempts).toBeLessThan(10_000);
    expect(mapping.MaximumRecordAgeInSeconds).toBeGreaterThan(0);
    expect(mapping.StartingPosition).toBe('TRIM_HORIZON');
    // Lambda keeps one partition key's records in one of the concurrent batches, in order, so
    // other items go ahead of a long one (issue 8); the processor keeps each item's records in order.
    expect(mapping.ParallelizationFactor).toBeGreaterThan(1);
    expect(mapping.ParallelizationFactor).toBeLessThanOrEqual(10);
  });

  it('has one filter on the new image (INSERT, MODIFY) and one on the old image (REMOVE)', () => {
    const patterns = (mapping.FilterCriteria.Filters as Array<{ Pattern: string }>).map((f) => JSON.parse(f.Pattern));
    expect(patterns).toEqual([
      { eventName: STREAM_SETTINGS.eventNames.filter((e) => e !== 'REMOVE'), dynamodb: { NewImage: { entity: { S: [...STREAM_SETTINGS.entities] } } } },
      { eventName: ['REMOVE'], dynamodb: { OldImage: { entity: { S: [...STREAM_SETTINGS.entities] } } } },
    ]);
  });

  it('filters on entity names the store really writes (a typo would silently drop records)', () => {
    for (const entity of STREAM_SETTINGS.entities) expect(Object.values(ENTITY)).toContain(entity);
  });

  it('sends what gives up to the dead-letter queue', () => {
    expect(mapping.DestinationConfig).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } });
  });

  it('follows the settings when they change (nothing is hard-coded in the stack)', () => {
    const other: StreamSettings = {
      startingPosition: 'LATEST',
      batchSize: 7,
      maxBatchingWindowSeconds: 3,
      retryAttempts: 2,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: false,
      maxRecordAgeSeconds: 600,
      parallelizationFactor: 2,
      entities: [ENTITY.card],
      eventNames: ['MODIFY'],
    };
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const otherData = new DataStack(app, 'OtherData');
    const otherStreams = new StreamsStack(app, 'OtherStreams', { table: otherData.table, stage: 'other', streamSettings: other });
    const t = Template.fromStack(otherStreams);
    assertMappingFollows(t, other);
    // A setting with only new-image events needs one filter.
    expect(mappingOf(t).Properties!.FilterCriteria.Filters).toHaveLength(1);
  });
});

describe('processor', () => {
  const fn = resourcesOf(template, 'AWS::Lambda::Function')[processorId]!;

  it('is one of the three functions of the stack (with the delivery and fan-out consumers): nodejs24.x on arm64, 1024 MB, 60 s, handler export', () => {
    expect(Object.keys(resourcesOf(template, 'AWS::Lambda::Function')).sort()).toEqual(
      [processorId, idOf(streams.deliveryConsumer.function), idOf(streams.fanOutConsumer.function)].sort(),
    );
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 60,
    });
    expect(fn.Properties!.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('gets the imported table name and the bus name, never literals', () => {
    expect(fn.Properties!.Environment.Variables).toMatchObject({
      TABLE_NAME: dataExport({ Ref: tableId }),
      EVENT_BUS_NAME: { Ref: busId },
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('writes to its own log group with a retention', () => {
    const logGroupId = fn.Properties!.LoggingConfig.LogGroup.Ref as string;
    expect(resourcesOf(template, 'AWS::Logs::LogGroup')[logGroupId]!.Properties!.RetentionInDays).toBe(30);
  });

  it('points at functions/streams/processor.ts, which exports handler', async () => {
    const entry = path.join(REPO_ROOT, 'functions/streams/processor.ts');
    expect(existsSync(entry)).toBe(true);
    const mod = (await import(entry)) as Record<string, unknown>;
    expect(typeof mod['handler']).toBe('function');
  });
});

describe('processor permissions', () => {
  const statements = statementsForRole(template, roleId);
  const withAction = (prefix: string) => statements.filter((s) => actionsOf(s).some((a) => a === '*' || a.toLowerCase().startsWith(prefix)));

  it('uses no managed policy and no Allow + NotAction', () => {
    expect(resourcesOf(template, 'AWS::IAM::Role')[roleId]!.Properties!.ManagedPolicyArns ?? []).toEqual([]);
    for (const s of statements) expect(s.NotAction).toBeUndefined();
  });

  it('reads and writes items (as an RW route) on the table, queries the named indexes, nothing more', () => {
    const onTable = statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(tableArn));
    expect(onTable.flatMap(actionsOf).sort()).toEqual([...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS].sort());
    const onIndexes = statements.filter((s) => JSON.stringify(s.Resource).includes('/index/'));
    expect(onIndexes.flatMap(actionsOf)).toEqual(['dynamodb:Query']);
    for (const gsi of TABLE_DEFINITION.globalSecondaryIndexes) expect(JSON.stringify(onIndexes)).toContain(`/index/${gsi.indexName}`);
    expect(JSON.stringify(onIndexes)).not.toContain('/index/*');
  });

  it('reads the stream, on the stream ARN only', () => {
    const onStream = statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(streamArn));
    expect(onStream.flatMap(actionsOf)).toEqual(expect.arrayContaining(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']));
    for (const s of withAction('dynamodb:')) {
      const streamAction = actionsOf(s).some((a) => ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'].includes(a));
      if (streamAction) expect(s.Resource).toEqual(streamArn);
    }
  });

  it('has no DeleteTable, no Scan, no table management and no dynamodb:*', () => {
    for (const s of withAction('dynamodb:')) {
      for (const action of actionsOf(s)) {
        expect(action === '*' || action.toLowerCase() === 'dynamodb:*', action).toBe(false);
        for (const forbidden of ['DeleteTable', 'Scan', 'CreateTable', 'UpdateTable', 'UpdateTimeToLive', 'DeleteBackup', 'PutResourcePolicy']) {
          expect(grants(action, `dynamodb:${forbidden}`), `${action} grants ${forbidden}`).toBe(false);
        }
      }
    }
  });

  it('may put events on the cardflow bus and nowhere else', () => {
    const events = withAction('events:');
    expect(events).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } })]);
  });

  it('may send to its dead-letter queue, the delivery queue and the fan-out queue only, and receive from none', () => {
    const deliveryQueueArn = { 'Fn::GetAtt': [idOf(streams.deliveryQueue), 'Arn'] };
    const fanOutQueueArn = { 'Fn::GetAtt': [idOf(streams.fanOutQueue), 'Arn'] };
    // Statements may name several queues at once (minimized policies).
    const targets = (s: { Resource?: unknown }) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
    for (const s of withAction('sqs:'))
      for (const r of targets(s)) expect([{ 'Fn::GetAtt': [queueId, 'Arn'] }, deliveryQueueArn, fanOutQueueArn]).toContainEqual(r);
    expect(
      withAction('sqs:')
        .filter((s) => targets(s).some((r) => JSON.stringify(r) === JSON.stringify(fanOutQueueArn)))
        .flatMap(actionsOf),
    ).toContain('sqs:SendMessage');
    expect(withAction('sqs:').flatMap(actionsOf)).toContain('sqs:SendMessage');
    expect(
      withAction('sqs:')
        .filter((s) => targets(s).some((r) => JSON.stringify(r) === JSON.stringify(deliveryQueueArn)))
        .flatMap(actionsOf),
    ).toContain('sqs:SendMessage');
    expect(withAction('sqs:').flatMap(actionsOf)).not.toContain('sqs:ReceiveMessage');
  });

  it('has no statement on Resource "*" but the X-Ray write actions (which take no other resource)', () => {
    for (const s of statements) {
      if (JSON.stringify(s.Resource) === '"*"') expect(actionsOf(s).sort(), JSON.stringify(s)).toEqual([...XRAY_WRITE_ACTIONS].sort());
    }
  });

  it('no policy in the stack allows dynamodb:* or dynamodb:DeleteTable', () => {
    for (const s of allStatements(template)) {
      if (s.Effect !== 'Allow') continue;
      expect(s.NotAction).toBeUndefined();
      for (const action of actionsOf(s)) {
        expect(grants(action, 'dynamodb:DeleteTable'), `allows ${action}`).toBe(false);
        expect(action === '*' || action.toLowerCase() === 'dynamodb:*').toBe(false);
      }
    }
  });
});

describe('dead-letter queue', () => {
  const queue = resourcesOf(template, 'AWS::SQS::Queue')[queueId]!;

  it('is encrypted, keeps messages 14 days, and is retained', () => {
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    expect(queue.DeletionPolicy).toBe('Retain');
  });

  it('refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      },
    });
  });

  it('goes with a destroyable dev stack', () => {
    const { streams: dev } = buildStacks({ removalPolicy: 'destroy' });
    for (const q of Object.values(resourcesOf(Template.fromStack(dev), 'AWS::SQS::Queue'))) expect(q.DeletionPolicy).toBe('Delete');
  });
});

describe('event bus', () => {
  it('is named cardflow-<stage>', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'cardflow-dev' });
    const { streams: staging } = buildStacks({ stage: 'staging' });
    Template.fromStack(staging).hasResourceProperties('AWS::Events::EventBus', { Name: 'cardflow-staging' });
  });

  it('outputs its name and ARN', () => {
    template.hasOutput('EventBusName', { Value: { Ref: busId } });
    template.hasOutput('EventBusArn', {});
  });
});

describe('alarms', () => {
  const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties!);
  const alarmOn = (metricName: string, dimension?: unknown) => {
    const found = alarms.filter(
      (a) => a.MetricName === metricName && (dimension === undefined || JSON.stringify(a.Dimensions?.[0]?.Value) === JSON.stringify(dimension)),
    );
    expect(found, `one alarm on ${metricName}`).toHaveLength(1);
    return found[0]!;
  };
  const [topicId] = onlyResource(template, 'AWS::SNS::Topic');

  it('has exactly the three stream alarms, the three delivery alarms and the three fan-out queue alarms', () => {
    expect(alarms.map((a) => a.MetricName).sort()).toEqual([
      'ApproximateAgeOfOldestMessage',
      'ApproximateAgeOfOldestMessage',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesVisible',
      'Errors',
      'Errors',
      'Errors',
      'IteratorAge',
    ]);
  });

  it('iterator age: maximum over a minute, above the threshold for several periods', () => {
    expect(alarmOn('IteratorAge')).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: processorId } }],
      Statistic: 'Maximum',
      Period: STREAM_ALARMS.iteratorAge.periodMinutes * 60,
      Threshold: STREAM_ALARMS.iteratorAge.thresholdMs,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: STREAM_ALARMS.iteratorAge.evaluationPeriods,
    });
    expect(STREAM_ALARMS.iteratorAge.thresholdMs).toBe(60_000);
    expect(STREAM_ALARMS.iteratorAge.evaluationPeriods).toBeGreaterThanOrEqual(3);
  });

  it('errors: any failed invocation of the processor', () => {
    expect(alarmOn('Errors', { Ref: processorId })).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: processorId } }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('dead letters: any visible message in the dead-letter queue', () => {
    expect(alarmOn('ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [queueId, 'QueueName'] })).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('notify the alarm topic on alarm and on recovery; no data is not an alarm', () => {
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
  });

  it('the topic is encrypted with a rotated key CloudWatch may use, and only CloudWatch alarms of this account may publish', () => {
    const [keyId, key] = onlyResource(template, 'AWS::KMS::Key');
    expect(key.Properties!.EnableKeyRotation).toBe(true);
    expect(key.Properties!.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
    );
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const [, policy] = onlyResource(template, 'AWS::SNS::TopicPolicy');
    const statements = policy.Properties!.PolicyDocument.Statement as Array<Record<string, any>>;
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    const allow = statements.filter((s) => s.Effect === 'Allow');
    expect(allow).toEqual([
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
      }),
    ]);
    template.hasOutput('AlarmTopicArn', {});
  });
});

describe('stack', () => {
  it('depends on the data stack only', () => {
    const { data: d, api, streams: s } = buildStacks({ stage: 'test' });
    Template.fromStack(s);
    expect(s.dependencies).toEqual([d]);
    expect(s.dependencies).not.toContain(api);
  });
});
