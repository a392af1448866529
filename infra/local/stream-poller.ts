/**
 * Reads DynamoDB Local's stream and invokes the stream handler the way a Lambda event source
 * mapping does (STREAM_SETTINGS): shards side by side, a child shard after its parent; within a
 * shard, ParallelizationFactor lanes by partition key, each handing its records to the handler in
 * batches in stream order while the other lanes go on (a long batch holds back only its own
 * lane); the checkpoint moves past a record once it and all before it are handled; partial batch
 * responses retried from the first failed record, bisect on failure, a bounded number of
 * attempts, then a dead-letter list. Nothing is dropped silently.
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
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { STREAM_SETTINGS, type StreamSettings } from '../../functions/streams/settings';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-local';

// biome-ignore lint/suspicious/noConfusingVoidType: the shape of aws-lambda's DynamoDBStreamHandler
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

interface Pending {
  record: DynamoDBRecord;
  handled: boolean;
}

interface Lane {
  queue: Pending[];
  running?: Promise<void> | undefined;
}

interface ShardState {
  id: string;
  parentId?: string;
  iterator?: string;
  /** Every record of the shard was read (it is closed). */
  done: boolean;
  /** Records read and handed to lanes, in stream order, until they and all before them are handled. */
  pending: Pending[];
  lanes: Lane[];
  lastRead?: string;
  /** No read of this shard before then (its last read found fewer records than it could take). */
  nextReadAt?: number;
}

/** How many batches per lane may be read ahead of the handler. */
const READ_AHEAD_BATCHES = 2;

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

/**
 * The pause before reading a shard again whose last read was a part page. Every GetRecords makes
 * DynamoDB Local walk the stream, on the same cores and SQLite queue as the table's requests; read
 * as fast as records trickle in, a busy stream costs a read per handful of records. Lambda
 * waits longer (250 ms); this stays short so a chain of records still moves quickly.
 */
const PARTIAL_READ_GAP_MS = 50;

/** How often the poller lists the stream's shards when none has closed meanwhile. */
const SHARD_REFRESH_MS = 2_000;
/** The longest wait between reads of an idle stream: Lambda reads each shard four times a second. */
const MAX_IDLE_MS = 250;

export class StreamPoller {
  readonly deadLetters: DeadLetter[] = [];
  private readonly streams: DynamoDBStreamsClient;
  private readonly dynamo: DynamoDBClient;
  private readonly settings: StreamSettings;
  private readonly shards = new Map<string, ShardState>();
  private streamArn?: string;
  private running = false;
  private loop?: Promise<void>;
  private lastActivity = Date.now();
  private refreshedAt = 0;
  private closedAtRefresh = 0;
  /** Empty reads in a row: the idle wait doubles with each, up to MAX_IDLE_MS. */
  private idleStreak = 0;
  /** When the most recent read of all shards that found no records began. */
  private lastIdleCycleBegan = 0;
  /** Records handed to the handler so far (after filtering). */
  delivered = 0;
  /** GetRecords calls so far (each costs DynamoDB Local a walk of the stream), and the ms they took. */
  reads = 0;
  readMs = 0;
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
    // Batches with the handler finish; queued records stay unhandled (the checkpoint is before them).
    await Promise.all([...this.shards.values()].flatMap((shard) => shard.lanes.map((lane) => lane.running)));
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
    this.idleStreak = 0;
    for (;;) {
      if (this.inFlight() === 0 && this.lastIdleCycleBegan >= calledAt && Date.now() - this.lastActivity >= quietMs) return;
      if (Date.now() > deadline) throw new Error('The stream did not go quiet in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Records read and not yet handled, over all shards. */
  private inFlight(): number {
    let n = 0;
    for (const shard of this.shards.values()) n += shard.pending.length;
    return n;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const began = Date.now();
        const progressed = await this.pollOnce();
        if (!progressed) {
          this.lastIdleCycleBegan = began;
          // An idle stream is read less and less often, down to Lambda's four reads a second per
          // shard: each GetRecords makes DynamoDB Local describe the stream, which slows every
          // other request as streams grow. Records, or a drain(), bring the pace back at once.
          const wait = Math.min((this.options.idleMs ?? 100) * 2 ** this.idleStreak, Math.max(this.options.idleMs ?? 100, MAX_IDLE_MS));
          this.idleStreak = Math.min(this.idleStreak + 1, 16);
          await new Promise((r) => setTimeout(r, wait));
        } else this.idleStreak = 0;
      } catch (error) {
        this.options.onError?.(error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * DescribeStream is costly in DynamoDB Local (it walks the stream's records, and its one SQLite
   * queue serializes every other request behind it), so shards are listed at most every
   * SHARD_REFRESH_MS, or at once when a shard has closed (its children appear then), as Lambda's
   * poller discovers new shards periodically rather than on every read.
   */
  private async refreshShards(): Promise<void> {
    const closed = [...this.shards.values()].filter((s) => s.done).length;
    if (this.shards.size > 0 && closed === this.closedAtRefresh && Date.now() - this.refreshedAt < SHARD_REFRESH_MS) return;
    this.refreshedAt = Date.now();
    this.closedAtRefresh = closed;
    let exclusiveStart: string | undefined;
    const all: Shard[] = [];
    do {
      const description = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: exclusiveStart }));
      all.push(...(description.StreamDescription?.Shards ?? []));
      exclusiveStart = description.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStart);
    for (const shard of all) {
      if (shard.ShardId && !this.shards.has(shard.ShardId))
        this.shards.set(shard.ShardId, {
          id: shard.ShardId,
          parentId: shard.ParentShardId,
          done: false,
          pending: [],
          lanes: Array.from({ length: Math.max(1, this.settings.parallelizationFactor) }, () => ({ queue: [] })),
        });
    }
  }

  /**
   * One read of every open shard whose parent is finished, shards side by side (as Lambda polls
   * them). True if any records arrived.
   */
  private async pollOnce(): Promise<boolean> {
    await this.refreshShards();
    const ready = [...this.shards.values()].filter((shard) => {
      if (shard.done) return false;
      // A child shard waits until its parent's records are all handled, not only read.
      const parent = shard.parentId ? this.shards.get(shard.parentId) : undefined;
      return !(parent && !(parent.done && !parent.pending.length));
    });
    const progressed = await Promise.all(ready.map((shard) => this.pollShard(shard)));
    return progressed.some(Boolean);
  }

  private async pollShard(shard: ShardState): Promise<boolean> {
    const checkpoint = this.checkpoints[shard.id];
    if (checkpoint?.done) {
      shard.done = true;
      return false;
    }
    // Read ahead a bounded amount: what the lanes have not handled yet holds the next read back.
    if (shard.pending.length >= this.settings.batchSize * Math.max(1, this.settings.parallelizationFactor) * READ_AHEAD_BATCHES) return false;
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
    const gap = (shard.nextReadAt ?? 0) - Date.now();
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    this.reads++;
    const readStarted = performance.now();
    const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: this.settings.batchSize }));
    this.readMs += performance.now() - readStarted;
    shard.iterator = page.NextShardIterator;
    // A shard caught up (a part page) is read again after PARTIAL_READ_GAP_MS, not at once: records
    // written meanwhile come in one read instead of a read each (Lambda reads a shard four times a second).
    const count = page.Records?.length ?? 0;
    shard.nextReadAt = count > 0 && count < this.settings.batchSize ? Date.now() + PARTIAL_READ_GAP_MS : 0;
    if (!shard.iterator) shard.done = true;
    const last = page.Records?.at(-1)?.dynamodb?.SequenceNumber;
    if (last) shard.lastRead = last;
    const records = (page.Records ?? []).map((r) => toLambdaRecord(r, this.streamArn!)).filter((r) => passesFilter(r, this.settings));
    for (const record of records) {
      const entry = { record, handled: false };
      shard.pending.push(entry);
      // ParallelizationFactor: up to that many batches of one shard at once, each partition key
      // always in the same lane, so a key's records stay in order while other keys go ahead.
      shard.lanes[laneOf(record, this.settings.parallelizationFactor)]!.queue.push(entry);
    }
    for (const lane of shard.lanes) this.runLane(shard, lane);
    this.advanceCheckpoint(shard);
    // Any record read is progress, even one the filter drops: the poller is not idle yet.
    return !!page.Records?.length;
  }

  /** Hands a lane's queued records to the handler, a batch at a time, until the lane is empty. */
  private runLane(shard: ShardState, lane: Lane) {
    if (lane.running || !lane.queue.length) return;
    lane.running = (async () => {
      try {
        while (lane.queue.length && this.running) {
          const batch = lane.queue.splice(0, this.settings.batchSize);
          try {
            await this.deliver(
              batch.map((e) => e.record),
              0,
            );
          } catch (error) {
            // deliver() itself ends every record (handled or dead-lettered); this is a bug guard.
            this.options.onError?.(error);
          }
          for (const entry of batch) entry.handled = true;
          this.lastActivity = Date.now();
          this.advanceCheckpoint(shard);
        }
      } finally {
        lane.running = undefined;
      }
    })();
  }

  /** The checkpoint moves past a record only once it and every record before it were handled. */
  private advanceCheckpoint(shard: ShardState) {
    let handledUpTo: string | undefined;
    while (shard.pending[0]?.handled) handledUpTo = shard.pending.shift()!.record.dynamodb?.SequenceNumber;
    const position = shard.pending.length ? handledUpTo : shard.lastRead;
    const finished = shard.done && !shard.pending.length;
    if (position || finished) {
      const previous = this.checkpoints[shard.id];
      this.saveCheckpoint(shard.id, { ...(position ? { sequenceNumber: position } : previous), ...(finished ? { done: true } : {}) });
    }
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
      const response = await this.options.handler({ Records: records }, lambdaContext(Date.now()));
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

/** The lane (of `factor`) a record goes to: by its partition key (PK), as Lambda does. */
export function laneOf(record: DynamoDBRecord, factor: number): number {
  if (factor <= 1) return 0;
  const pk = (record.dynamodb?.Keys as Record<string, { S?: string }> | undefined)?.['PK']?.S ?? '';
  return createHash('md5').update(pk).digest().readUInt32BE(0) % factor;
}

/** The stream processor's timeout in the Streams stack: the handler sees its time run down. */
const INVOCATION_TIMEOUT_MS = 60_000;

function lambdaContext(startedAt: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'cardflow-stream-processor',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cardflow-stream-processor',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/cardflow-stream-processor',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, INVOCATION_TIMEOUT_MS - (Date.now() - startedAt)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
