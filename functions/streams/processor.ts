/**
 * The table's stream processor. Each record goes through the steps in order — propagation of
 * synced values and edge summaries, then automations, then outbound events — one record at a
 * time in stream order; after the first failure in a batch the rest is reported failed
 * unprocessed, so an item's records are never applied out of order. Every step is idempotent:
 * a retried record runs all steps again.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Card, DbRecord } from '../../domain/model';
import { StreamWork, type PropagationJob } from '../../domain/stream';
import { documentClient } from '../../domain/store/client';
import { ENTITY } from '../../domain/store/keys';
import { logger } from '../shared/logger';
import { recordPropagation } from '../shared/metrics';
import { tracer } from '../shared/tracer';
import { automationStep } from './automations';
import { eventsStep } from './events';
import { cascadeJobStep } from './jobs';
import { store } from '../shared/store';

const image = (value: Record<string, unknown> | undefined) => (value ? unmarshall(value as Record<string, AttributeValue>) : undefined);

export interface StreamHandlerOptions {
  /** Called before each record is processed (tests inject faults here). */
  beforeRecord?: (record: DynamoDBRecord, index: number) => void | Promise<void>;
}

export function createStreamHandler(options: StreamHandlerOptions = {}) {
  return async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    const work = new StreamWork(store, documentClient);
    let failed = false;
    let index = 0;
    const recordHandler = async (record: DynamoDBRecord) => {
      const position = index++;
      if (failed) throw new Error('An earlier record of this batch failed; retried in order');
      try {
        await options.beforeRecord?.(record, position);
        await processRecord(work, record);
      } catch (error) {
        failed = true;
        logger.warn('Stream record failed', { eventID: record.eventID, sequenceNumber: record.dynamodb?.SequenceNumber, error: error as Error });
        throw error;
      }
    };
    return processPartialResponse(event, recordHandler, processor, { context, processInParallel: false });
  };
}

/** What every step receives: the record, its images unmarshalled, and shared per-batch work. */
export interface StreamStepInput {
  record: DynamoDBRecord;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  work: StreamWork;
}

export type StreamStep = (input: StreamStepInput) => Promise<void>;

/** The steps, in order. Automations and outbound events add theirs here. */
export const STREAM_STEPS: StreamStep[] = [propagationStep, automationStep, eventsStep, cascadeJobStep];

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
    await work.itemChanged(after['orgId'] as string, entity === ENTITY.card ? 'card' : 'record', before as unknown as Card | DbRecord, after as unknown as Card | DbRecord);
  } else if (entity === ENTITY.propagationJob) {
    const job = after['job'] as PropagationJob;
    const previous = before?.['job'] as PropagationJob | undefined;
    // Each stored step is worked once: a MODIFY that did not advance the job carries no new work.
    if (job.cursor && previous?.step !== job.step) await work.runChunk(job);
  }
}

export const handler = middy(createStreamHandler()).use(captureLambdaHandler(tracer, { captureResponse: false }));
