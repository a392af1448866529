/**
 * The fan-out wake-up consumer: an SQS event source (functions/fanout/settings.ts) hands it
 * batches of wake-ups; each is StreamWork.wake for the job it names, in parallel with the others,
 * reported with a partial batch response (Powertools BatchProcessor, EventType.SQS):
 *
 * - handed over (the parent is quiet), re-scheduled (it changed: another wait), or stale (the job
 *   no longer waits, or another receive acted on this wait first): acknowledged;
 * - early (a spare message, sent before a re-schedule moved the wait): put back until the wait is
 *   due (ChangeMessageVisibility) and reported failed;
 * - an error: reported failed; SQS shows it again after the visibility timeout, and after
 *   maxReceiveCount receives it goes to the dead-letter queue (alarmed; a redrive finishes it).
 *
 * The consumer never runs the fan-out itself: the hand-over bumps the job's `handoff`, and the
 * job's own stream record runs it — one runner per step, under the existing step guard.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { documentClient } from '../../domain/kernel/client';
import { StreamWork, type FanOutTuning, type StreamHooks, type WakeOutcome } from '../../domain/propagation/stream';
import { logger } from '../shared/logger';
import { sqsClient } from '../shared/sqs';
import { store } from '../shared/store';
import { captureHandler } from '../shared/tracer';
import { fanOutQueueUrl, parseWake } from './queue';

export interface FanOutConsumerOptions {
  /** Fan-out pacing (tests shorten the waits); the stream processor must be given the same. */
  tuning?: Partial<FanOutTuning>;
  /** Called at the wake-up's points (tests inject faults here). */
  hooks?: StreamHooks;
}

class NotDueYet extends Error {
  constructor(readonly seconds: number) {
    super(`wake-up ${seconds} s early; put back`);
  }
}

export function createFanOutConsumer(options: FanOutConsumerOptions = {}) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const processor = new BatchProcessor(EventType.SQS);
    const work = new StreamWork(store, documentClient, {
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(options.tuning ? { tuning: { ...options.tuning } } : {}),
    });
    const recordHandler = async (record: SQSRecord): Promise<WakeOutcome['outcome']> => {
      const key = parseWake(record.body);
      if (!key) {
        // Retrying cannot fix a malformed message: drop it, loudly.
        logger.error('Malformed fan-out wake-up dropped', { messageId: record.messageId });
        return 'stale';
      }
      try {
        const result = await work.wake(key.orgId, key.parentId);
        if (result.outcome === 'early') throw new NotDueYet(result.dueInSeconds);
        return result.outcome;
      } catch (error) {
        if (error instanceof NotDueYet) await putBack(record, error.seconds);
        else logger.error('Fan-out wake-up failed', { messageId: record.messageId, error: error as Error });
        throw error;
      }
    };
    return processPartialResponse(event, recordHandler, processor, { context, processInParallel: true, throwOnFullBatchFailure: false });
  };
}

/** Visible again when the wait is due; if that fails, the queue's visibility timeout applies. */
async function putBack(record: SQSRecord, seconds: number) {
  try {
    await sqsClient().send(new ChangeMessageVisibilityCommand({ QueueUrl: fanOutQueueUrl(), ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds }));
  } catch (error) {
    logger.warn('Could not put an early wake-up back; the queue visibility timeout applies', { messageId: record.messageId, error: error as Error });
  }
}

export const handler = middy(createFanOutConsumer()).use(captureHandler());
