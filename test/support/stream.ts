/**
 * A private table with its own stream poller for tests of stream processing: the records one
 * test file produces are the only ones its poller sees. Set up before any handler is imported.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ensureTable } from '../../infra/local/dynamodb-local';
import { StreamPoller } from '../../infra/local/stream-poller';
import { LocalQueue } from '../../infra/local/local-queue';
import { FANOUT_QUEUE_SETTINGS, type FanOutQueueSettings } from '../../functions/fanout/settings';
import type { FanOutTuning, StreamHooks } from '../../domain/propagation/stream';
import { cascadeFaults, cascadeSettings } from '../../domain/connections/cascade';

export interface StreamHarness {
  poller: StreamPoller;
  /** Every event delivered to the handler, in order (for replays). */
  delivered: DynamoDBStreamEvent[];
  /** Makes the handler fail on the n-th record it is given from now on, once. */
  failOnce(n: number): void;
  faultsInjected: number;
  /** The fan-out pacing every new invocation reads. */
  tuning: Partial<FanOutTuning>;
  handler: (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;
  /**
   * The fan-out wake-up queue (a LocalQueue driving the unchanged consumer): a hot parent's
   * fan-out waits there. `poller.drain()` drains it too (stream and queue feed each other).
   */
  wakeups: LocalQueue;
  stop(): Promise<void>;
}

export interface StreamHarnessOptions {
  retryAttempts?: number;
  /** Fan-out pacing; by default no hot-parent waits, so tests of other things stay quick. */
  tuning?: Partial<FanOutTuning>;
  /** Called at each fan-out point (a throw kills that invocation, which the poller retries). */
  at?: NonNullable<StreamHooks['at']>;
  /** Called when a handler invocation has returned (tests check what happened before). */
  afterInvocation?: (event: DynamoDBStreamEvent) => void;
  /** The wake-up queue's settings (tests shorten the visibility timeout). */
  wakeupQueue?: Partial<FanOutQueueSettings>;
}

export async function startStreamHarness(options: StreamHarnessOptions = {}): Promise<StreamHarness> {
  const endpoint = process.env['AWS_ENDPOINT_URL_DYNAMODB']!;
  const tableName = `cardflow-stream-${randomUUID().slice(0, 8)}`;
  await ensureTable(endpoint, tableName);
  process.env['TABLE_NAME'] = tableName;
  const { createStreamHandler } = await import('../../functions/streams/processor');
  let armedAt: number | undefined;
  let seen = 0;
  const harness = {
    delivered: [] as DynamoDBStreamEvent[],
    faultsInjected: 0,
    failOnce(n: number) {
      armedAt = seen + n;
    },
  } as StreamHarness;
  // Passed by reference: a test may change the pacing between scenarios.
  const tuning: Partial<FanOutTuning> = { hotMs: 0, ...options.tuning };
  harness.tuning = tuning;
  const inner = createStreamHandler({
    tuning,
    ...(options.at ? { hooks: { at: options.at } } : {}),
    beforeRecord: (_record: DynamoDBRecord) => {
      const position = seen++;
      if (armedAt !== undefined && position === armedAt) {
        armedAt = undefined;
        harness.faultsInjected++;
        throw new Error(`injected fault at record ${position}`);
      }
    },
  });
  harness.handler = async (event, context) => {
    harness.delivered.push(event);
    try {
      return await inner(event, context);
    } finally {
      options.afterInvocation?.(event);
    }
  };
  // The wake-up consumer reads the same pacing and hooks as the stream processor.
  const { createFanOutConsumer } = await import('../../functions/fanout/consumer');
  harness.wakeups = new LocalQueue({
    name: 'cardflow-fanout',
    settings: { ...FANOUT_QUEUE_SETTINGS, ...options.wakeupQueue },
    handler: createFanOutConsumer({ tuning, ...(options.at ? { hooks: { at: options.at } } : {}) }),
    idleMs: 10,
    onError: (error) => console.error('fan-out queue:', (error as Error).message),
  });
  await harness.wakeups.start();
  Object.assign(process.env, { FANOUT_QUEUE_URL: harness.wakeups.url, AWS_ENDPOINT_URL_SQS: harness.wakeups.endpoint });
  harness.poller = new StreamPoller({
    endpoint,
    tableName,
    handler: harness.handler,
    idleMs: 20,
    settings: options.retryAttempts !== undefined ? { retryAttempts: options.retryAttempts } : {},
  });
  await harness.poller.start();
  const drainStream = harness.poller.drain.bind(harness.poller);
  harness.poller.drain = async (quietMs?: number, timeoutMs?: number) => {
    for (;;) {
      // A message stays in the queue until its invocation has returned (and written).
      const queueIdle = harness.wakeups.size === 0;
      const invoked = harness.wakeups.invocations.length;
      await drainStream(quietMs, timeoutMs);
      if (harness.wakeups.size === 0) {
        // The consumer runs while the stream drains: if it ran meanwhile, a record it wrote just
        // after the stream looked quiet is read by one more pass, begun with the queue empty.
        if (queueIdle && harness.wakeups.invocations.length === invoked) return;
        continue;
      }
      await harness.wakeups.drain(timeoutMs);
    }
  };
  harness.stop = async () => {
    await harness.poller.stop();
    await harness.wakeups.stop();
    // DynamoDB Local describes the stream on every GetRecords at a cost that grows with all the
    // stream records it holds; a file's table (and its stream) goes with the file.
    await new DynamoDBClient({}).send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  };
  return harness;
}

/**
 * A file of cascade tests: one stream harness for the file, and the cascade settings and fault
 * hook a test changed put back after it. Returns the harness (started before the first test).
 */
export function cascadeStreamHarness(): () => StreamHarness {
  let stream: StreamHarness | undefined;
  const defaults = { ...cascadeSettings };
  beforeAll(async () => {
    stream = await startStreamHarness();
  });
  afterAll(async () => {
    await stream?.stop();
  });
  afterEach(() => {
    Object.assign(cascadeSettings, defaults);
    delete cascadeFaults.beforeWrite;
  });
  return () => stream!;
}
