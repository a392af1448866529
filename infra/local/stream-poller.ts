/**
 * Reads DynamoDB Local's stream and invokes the stream handler the way a Lambda event source
 * mapping does (STREAM_SETTINGS): shards in parent-before-child order, batches of records in
 * order, partial batch responses retried from the first failed record, bisect on failure, a
 * bounded number of attempts, then a dead-letter list. Nothing is dropped silently.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { STREAM_SETTINGS, type StreamSettings } from '../../functions/streams/settings';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-local';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | void>;

export interface DeadLetter {
  at: string;
  reason: string;
  attempts: number;
  records: Array<{ eventID?: string; eventName?: string; sequenceNumber?: string; keys?: unknown }>;
}

export interface StreamPollerOptions {
  endpoint: string;
  tableName: string;
  handler: StreamHandler;
  settings?: Partial<StreamSettings>;
  /** Milliseconds between reads of an idle shard. */
  idleMs?: number;
  onError?: (error: unknown) => void;
  /**
   * Where to keep the position reached in each shard (with `npm start -- --data`), so a restart
   * carries on after the last record handled instead of replaying the stream from its start.
   */
  checkpointFile?: string;
}

type Checkpoints = Record<string, { sequenceNumber?: string; done?: boolean }>;

interface ShardState {
  id: string;
  parentId?: string;
  iterator?: string;
  done: boolean;
}

/**
 * DynamoDB Local writes an empty map in a stream image as `{}` where DynamoDB writes `{"M":{}}`
 * (an empty list keeps its `{"L":[]}`); restore the type so images unmarshall as in AWS.
 */
function repairImage(image: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!image) return image;
  const repair = (value: unknown): unknown => {
    if (!value || typeof value !== 'object') return value;
    const av = value as Record<string, unknown>;
    if (Object.keys(av).length === 0) return { M: {} };
    if (av['M']) return { M: Object.fromEntries(Object.entries(av['M'] as Record<string, unknown>).map(([k, v]) => [k, repair(v)])) };
    if (Array.isArray(av['L'])) return { L: (av['L'] as unknown[]).map(repair) };
    return av;
  };
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, repair(v)]));
}

/** The record as Lambda delivers it: the same shape DynamoDBStreamEvent has. */
function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? LOCAL_REGION,
    eventSourceARN: streamArn,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime ? Math.floor(new Date(d.ApproximateCreationDateTime).getTime() / 1000) : undefined,
      Keys: d.Keys as never,
      NewImage: repairImage(d.NewImage as Record<string, unknown> | undefined) as never,
      OldImage: repairImage(d.OldImage as Record<string, unknown> | undefined) as never,
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType as never,
    },
  };
}

/** The event source mapping's filter: only INSERT/MODIFY of the entities the processor handles. */
export function passesFilter(record: DynamoDBRecord, settings: StreamSettings = STREAM_SETTINGS): boolean {
  const image = (record.eventName === 'REMOVE' ? record.dynamodb?.OldImage : record.dynamodb?.NewImage) as Record<string, { S?: string }> | undefined;
  const entity = image?.['entity']?.S;
  return settings.eventNames.includes(record.eventName ?? '') && settings.entities.includes(entity ?? '');
}

export class StreamPoller {
  readonly deadLetters: DeadLetter[] = [];
  private readonly streams: DynamoDBStreamsClient;
  private readonly dynamo: DynamoDBClient;
  private readonly settings: StreamSettings;
  private readonly shards = new Map<string, ShardState>();
  private streamArn?: string;
  private running = false;
  private loop?: Promise<void>;
  private busy = false;
  private lastActivity = Date.now();
  /** When the most recent read of all shards that found no records began. */
  private lastIdleCycleBegan = 0;
  /** Records handed to the handler so far (after filtering). */
  delivered = 0;
  private checkpoints: Checkpoints = {};

  constructor(private readonly options: StreamPollerOptions) {
    const config = { endpoint: options.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    this.streams = new DynamoDBStreamsClient(config);
    this.dynamo = new DynamoDBClient(config);
    this.settings = { ...STREAM_SETTINGS, ...options.settings };
  }

  async start(): Promise<void> {
    if (this.options.checkpointFile && existsSync(this.options.checkpointFile)) {
      this.checkpoints = JSON.parse(readFileSync(this.options.checkpointFile, 'utf8')) as Checkpoints;
    }
    const table = await this.dynamo.send(new DescribeTableCommand({ TableName: this.options.tableName }));
    this.streamArn = table.Table?.LatestStreamArn;
    if (!this.streamArn) throw new Error(`Table ${this.options.tableName} has no stream`);
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.streams.destroy();
    this.dynamo.destroy();
  }

  /**
   * Resolves once a read of every shard that began after this call found nothing new, nothing is
   * in flight, and no record arrived for quietMs (work may write records that start more work).
   */
  async drain(quietMs = 300, timeoutMs = 120_000): Promise<void> {
    const calledAt = Date.now();
    const deadline = calledAt + timeoutMs;
    for (;;) {
      if (!this.busy && this.lastIdleCycleBegan >= calledAt && Date.now() - this.lastActivity >= quietMs) return;
      if (Date.now() > deadline) throw new Error('The stream did not go quiet in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const began = Date.now();
        const progressed = await this.pollOnce();
        if (!progressed) {
          this.lastIdleCycleBegan = began;
          await new Promise((r) => setTimeout(r, this.options.idleMs ?? 100));
        }
      } catch (error) {
        this.options.onError?.(error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async refreshShards(): Promise<void> {
    let exclusiveStart: string | undefined;
    const all: Shard[] = [];
    do {
      const description = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: exclusiveStart }));
      all.push(...(description.StreamDescription?.Shards ?? []));
      exclusiveStart = description.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStart);
    for (const shard of all) {
      if (shard.ShardId && !this.shards.has(shard.ShardId)) this.shards.set(shard.ShardId, { id: shard.ShardId, parentId: shard.ParentShardId, done: false });
    }
  }

  /** One read of every open shard whose parent is finished. True if any records arrived. */
  private async pollOnce(): Promise<boolean> {
    await this.refreshShards();
    let progressed = false;
    for (const shard of this.shards.values()) {
      if (shard.done) continue;
      const parent = shard.parentId ? this.shards.get(shard.parentId) : undefined;
      if (parent && !parent.done) continue;
      const checkpoint = this.checkpoints[shard.id];
      if (checkpoint?.done) {
        shard.done = true;
        continue;
      }
      if (!shard.iterator) {
        const it = await this.streams.send(
          new GetShardIteratorCommand({
            StreamArn: this.streamArn,
            ShardId: shard.id,
            ...(checkpoint?.sequenceNumber
              ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: checkpoint.sequenceNumber }
              : { ShardIteratorType: this.settings.startingPosition }),
          }),
        );
        shard.iterator = it.ShardIterator;
      }
      const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: this.settings.batchSize }));
      shard.iterator = page.NextShardIterator;
      if (!shard.iterator) shard.done = true;
      const last = page.Records?.at(-1)?.dynamodb?.SequenceNumber;
      // Any record read is progress, even one the filter drops: the poller is not idle yet.
      if (page.Records?.length) progressed = true;
      const records = (page.Records ?? []).map((r) => toLambdaRecord(r, this.streamArn!)).filter((r) => passesFilter(r, this.settings));
      if (records.length) {
        progressed = true;
        this.busy = true;
        try {
          await this.deliver(records, 0);
        } finally {
          this.busy = false;
          this.lastActivity = Date.now();
        }
      }
      if (last || shard.done) this.saveCheckpoint(shard.id, { ...(last ? { sequenceNumber: last } : checkpoint), ...(shard.done ? { done: true } : {}) });
    }
    return progressed;
  }

  private saveCheckpoint(shardId: string, position: Checkpoints[string]) {
    if (!this.options.checkpointFile) return;
    this.checkpoints[shardId] = position;
    const temporary = `${this.options.checkpointFile}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.checkpoints));
    renameSync(temporary, this.options.checkpointFile);
  }

  /**
   * Delivers a batch as an event source mapping does. A failure (thrown, or reported items)
   * retries from the first failed record; with bisect, the remainder is split in halves so a
   * poison record is isolated; after the retries it goes to the dead-letter list.
   */
  private async deliver(records: DynamoDBRecord[], attempt: number): Promise<void> {
    let failedFrom: number;
    let reason: string;
    try {
      this.delivered += records.length;
      const response = await this.options.handler({ Records: records }, lambdaContext());
      const failures = response?.batchItemFailures ?? [];
      if (!failures.length) return;
      const failedIds = new Set(failures.map((f) => f.itemIdentifier));
      failedFrom = records.findIndex((r) => failedIds.has(r.dynamodb?.SequenceNumber ?? ''));
      if (failedFrom < 0) failedFrom = 0;
      reason = `batch item failure at ${records[failedFrom]?.dynamodb?.SequenceNumber}`;
    } catch (error) {
      failedFrom = 0;
      // A batch whose every record failed comes back as one error listing the records' own.
      const recordErrors = (error as { recordErrors?: unknown[] }).recordErrors;
      reason = recordErrors?.length ? recordErrors.map((e) => (e as Error).message ?? String(e)).join('; ') : (error as Error).message;
    }
    const rest = records.slice(failedFrom);
    if (attempt >= this.settings.retryAttempts && rest.length <= 1) {
      this.deadLetters.push({
        at: new Date().toISOString(),
        reason,
        attempts: attempt + 1,
        records: rest.map((r) => ({ eventID: r.eventID, eventName: r.eventName, sequenceNumber: r.dynamodb?.SequenceNumber, keys: r.dynamodb?.Keys })),
      });
      return;
    }
    // As in Lambda, splitting a batch does not count against the retry quota.
    if (this.settings.bisectBatchOnFunctionError && rest.length > 1) {
      const half = Math.ceil(rest.length / 2);
      await this.deliver(rest.slice(0, half), attempt);
      await this.deliver(rest.slice(half), attempt);
      return;
    }
    await this.deliver(rest, attempt + 1);
  }
}

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'cardflow-stream-processor',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cardflow-stream-processor',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/cardflow-stream-processor',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
