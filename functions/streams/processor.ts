/**
 * The table's stream processor. Each record goes through the steps in order — propagation of
 * synced values and edge summaries, then automations, then outbound events. Records of different
 * partitions (items) run concurrently (at most RECORD_CONCURRENCY at a time); records of one
 * partition run one after another in stream order, and once one fails every later one is reported
 * failed unprocessed, so an item's records are never applied out of order (the event source
 * mapping retries from the lowest failed sequence number; records of other items after it run
 * again, which every step tolerates: each is idempotent).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { StreamStepInput } from './step';
import type { Card } from '../../domain/cards/model';
import type { DbRecord } from '../../domain/databases/model';
import { StreamWork, type FanOutJob, type FanOutTuning, type LegacyPropagationJob, type StreamHooks } from '../../domain/propagation/stream';
import { documentClient } from '../../domain/kernel/client';
import { ENTITY } from '../../domain/kernel/keys';
import { logger } from '../shared/logger';
import { recordPropagation } from '../shared/metrics';
import { captureHandler } from '../shared/tracer';
import { activityStep } from './activity';
import { automationStep } from './automations';
import { eventsStep } from './events';
import { cascadeJobStep } from './jobs';
import { store } from '../shared/store';
import { fanOutWakeups } from '../fanout/queue';

const image = (value: Record<string, unknown> | undefined) => (value ? unmarshall(value as Record<string, AttributeValue>) : undefined);

export interface StreamHandlerOptions {
  /** Called before each record is processed (tests inject faults here). */
  beforeRecord?: (record: DynamoDBRecord, index: number) => void | Promise<void>;
  /** Called at the named points inside the work of a record (tests inject faults here). */
  hooks?: StreamHooks;
  /** Records of different items processed at once (default RECORD_CONCURRENCY). */
  concurrency?: number;
  /** Fan-out pacing (tests shorten waits and chunks). */
  tuning?: Partial<FanOutTuning>;
}

/** Records of different items in flight at once within one batch. */
export const RECORD_CONCURRENCY = 16;

/**
 * What a record's order is kept within: its partition key, as Lambda keeps it across the
 * concurrent batches of a shard. An item shares it with its edges and counts, so an item's
 * records, and e.g. a child edge's removal before its parent's deletion, apply in stream order.
 */
export function itemKeyOf(record: DynamoDBRecord): string {
  const keys = record.dynamodb?.Keys as Record<string, { S?: string }> | undefined;
  return keys?.['PK']?.S ?? '';
}

/** A counting semaphore: at most `limit` holders at once. */
function limiter(limit: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

export function createStreamHandler(options: StreamHandlerOptions = {}) {
  return async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    const work = new StreamWork(store, documentClient, {
      remainingMs: () => context.getRemainingTimeInMillis(),
      wakeups: fanOutWakeups,
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(options.tuning ? { tuning: { ...options.tuning } } : {}),
    });
    const limit = limiter(options.concurrency ?? RECORD_CONCURRENCY);
    // Per item: the promise of its latest record, and whether one of its records failed.
    const tails = new Map<string, Promise<unknown>>();
    const failedItems = new Set<string>();
    const positions = new Map(event.Records.map((r, i) => [r, i] as const));
    const recordHandler = async (record: DynamoDBRecord) => {
      const key = itemKeyOf(record);
      const previous = tails.get(key);
      const run = (async () => {
        // Wait for the item's earlier record without holding a slot (no deadlock at the limit).
        await previous?.catch(() => undefined);
        if (failedItems.has(key)) throw new Error('An earlier record of this item failed; retried in order');
        await limit(async () => {
          try {
            await options.beforeRecord?.(record, positions.get(record) ?? 0);
            await processRecord(work, record);
          } catch (error) {
            failedItems.add(key);
            logger.warn('Stream record failed', { eventID: record.eventID, sequenceNumber: record.dynamodb?.SequenceNumber, error: error as Error });
            throw error;
          }
        });
      })();
      tails.set(key, run);
      return run;
    };
    return processPartialResponse(event, recordHandler, processor, { context, processInParallel: true });
  };
}

/** What every step receives: the record, its images unmarshalled, and shared per-batch work. */
export type { StreamStepInput } from './step';

export type StreamStep = (input: StreamStepInput) => Promise<void>;

/** The steps, in order. Automations and outbound events add theirs here. */
export const STREAM_STEPS: StreamStep[] = [propagationStep, automationStep, eventsStep, cascadeJobStep, activityStep];

async function processRecord(work: StreamWork, record: DynamoDBRecord) {
  const after = image(record.dynamodb?.NewImage as Record<string, unknown> | undefined);
  const before = image(record.dynamodb?.OldImage as Record<string, unknown> | undefined);
  for (const step of STREAM_STEPS) await step({ record, ...(before ? { before } : {}), ...(after ? { after } : {}), work });
}

async function propagationStep(input: StreamStepInput) {
  const { work, after } = input;
  const written = work.childrenWritten;
  await propagate(input);
  // Lag from the parent's own write (updatedAt, ms precision) to its children written.
  const parentWrittenAt = Date.parse(String((after?.['entity'] === ENTITY.propagationJob ? undefined : after?.['updatedAt']) ?? ''));
  recordPropagation(work.childrenWritten - written, Number.isNaN(parentWrittenAt) ? undefined : Date.now() - parentWrittenAt);
}

async function propagate({ record, before, after, work }: StreamStepInput) {
  if (!after) return;
  const entity = after['entity'];
  if ((entity === ENTITY.card || entity === ENTITY.record) && before && record.eventName === 'MODIFY') {
    await work.itemChanged(
      after['orgId'] as string,
      entity === ENTITY.card ? 'card' : 'record',
      before as unknown as Card | DbRecord,
      after as unknown as Card | DbRecord,
    );
  } else if (entity === ENTITY.propagationJob) {
    const job = after['job'] as FanOutJob | undefined;
    const previous = before?.['job'] as FanOutJob | undefined;
    // Only a hand-over starts work here; the cursor saves of a running fan-out are its own business.
    if (job?.state && (job.handoff ?? 0) !== (previous?.handoff ?? 0)) await work.resume(job);
    // A job item of the earlier format (one per parent version, no state): finished afresh.
    const legacy = after['job'] as LegacyPropagationJob | undefined;
    if (legacy && !job?.state && typeof legacy.parentVersion === 'number' && typeof after['SK'] === 'string' && after['SK'].startsWith('PROPAGATE#')) {
      await work.resumeLegacy(legacy, { PK: after['PK'] as string, SK: after['SK'] });
    }
  }
}

export const handler = middy(createStreamHandler()).use(captureHandler());
