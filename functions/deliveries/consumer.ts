/**
 * The webhook delivery consumer: an SQS event source (functions/deliveries/settings.ts) hands it
 * batches of delivery messages; each message is one attempt of one delivery, made in parallel
 * with the others of its batch, and reported with a partial batch response (Powertools
 * BatchProcessor, EventType.SQS):
 *
 * - done (delivered, failed for good, abandoned, or a stale/repeated message): the message is
 *   acknowledged (deleted);
 * - to retry: the attempt is logged, the message's visibility is set to the backoff, and it is
 *   reported failed — SQS shows it again when the backoff is over. A message received more than
 *   maxReceiveCount times (crashes, timeouts) goes to the dead-letter queue, and its delivery
 *   stays pending in the log until redriven.
 *
 * - throttled: the organization already has attemptsPerOrganization attempts in flight (leases on
 *   one item, across invocations): the message is sent again with a 1–2 s delay and this one is
 *   acknowledged — not an attempt, no receive counted towards the dead-letter queue. One tenant's
 *   hanging receiver holds at most that many consumer slots; the others serve other tenants.
 *
 * Exactly once in effect: the delivery item (keyed by webhook and event id) is read before the
 * attempt and the outcome is written on the condition that its attempt count is still the one
 * read, so a repeated message never logs an attempt twice. A crash between the POST and that
 * write repeats the POST with the same webhook-id; receivers dedupe on it.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { documentClient } from '../../domain/kernel/client';
import { WebhookStore } from '../../domain/webhooks/store';
import type { Webhook, WebhookDelivery } from '../../domain/webhooks/model';
import { afterAttempt, attemptSucceeded, signatureHeader, signingSecrets } from '../../domain/webhooks/webhooks';
import { tableName } from '../shared/env';
import { logger } from '../shared/logger';
import { recordWebhookDelivery } from '../shared/metrics';
import { openWebhookSecrets } from '../shared/secrets';
import { captureHandler } from '../shared/tracer';
import { attemptsPerOrganization, deliveryPolicy, urlPolicy } from '../shared/webhook-config';
import { postWebhook } from '../streams/webhook-http';
import { deliveryMessageSchema, deliveryQueueUrl, enqueueDeliveries, sqsClient } from './queue';

const webhooks = new WebhookStore(documentClient, tableName());

/** Thrown for a message to be received again after its backoff (not an error of the consumer). */
export class RetryLater extends Error {
  constructor(readonly delaySeconds: number) {
    super(`delivery attempt failed; retried in ${delaySeconds} s`);
  }
}

/** SQS caps a message's visibility timeout at 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

export type AttemptOutcome = 'succeeded' | 'failed' | 'retry' | 'skipped' | 'throttled';

/** A lease outlives its attempt by this much (the write of the outcome), then lapses if never given back. */
const LEASE_MARGIN_MS = 10_000;
/** A throttled message comes back after 1 or 2 s (jitter: throttled messages do not return in step). */
const THROTTLE_DELAY_SECONDS = 1;

/** One message: one attempt of the delivery it names, or nothing when that is no longer due. */
export async function deliverOne(record: SQSRecord): Promise<AttemptOutcome> {
  const parsed = deliveryMessageSchema.safeParse(safeJson(record.body));
  if (!parsed.success) {
    // Retrying cannot fix a malformed message: drop it, loudly.
    logger.error('Malformed delivery message dropped', { messageId: record.messageId });
    return 'skipped';
  }
  const { orgId, webhookId, eventId } = parsed.data;
  const current = await webhooks.getDelivery(orgId, webhookId, eventId);
  // Delivered, failed for good, or expired: a repeated or stale message.
  if (current?.status !== 'pending') return 'skipped';
  const seen = current.attempts;
  const hook = await webhooks.get(orgId, webhookId);
  if (!hook?.enabled) {
    await webhooks.abandon(orgId, webhookId, eventId, seen, hook ? 'webhook disabled' : 'webhook deleted', new Date().toISOString());
    recordWebhookDelivery('abandoned');
    return 'skipped';
  }

  // At most attemptsPerOrganization attempts of one organization at once, across invocations:
  // past it the message goes back on the queue with a short delay, and the consumer's slot goes
  // to the next message — often another organization's (the queue serves groups fairly).
  const leaseId = record.messageId;
  const leaseUntil = Date.now() + deliveryPolicy.timeoutMs + LEASE_MARGIN_MS;
  if (!(await webhooks.acquireSlot(orgId, leaseId, leaseUntil, attemptsPerOrganization))) {
    await enqueueDeliveries([parsed.data], THROTTLE_DELAY_SECONDS + Math.round(Math.random()));
    recordWebhookDelivery('throttled');
    return 'throttled';
  }
  try {
    return await attempt(orgId, hook, current);
  } finally {
    await webhooks.releaseSlot(orgId, leaseId);
  }
}

/** The POST, its outcome logged on the condition that the attempt count is still the one read. */
async function attempt(orgId: string, hook: Webhook, current: WebhookDelivery): Promise<AttemptOutcome> {
  const { webhookId, eventId } = current;
  const seen = current.attempts;
  // Secrets are sealed at rest; the consumer is the one place that opens them (to sign).
  const signing = await openWebhookSecrets(orgId, hook, webhooks);
  const sentAt = new Date();
  const timestamp = Math.floor(sentAt.getTime() / 1000);
  const result = await postWebhook(
    hook.url,
    {
      'webhook-id': eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(signingSecrets(signing, sentAt), eventId, timestamp, current.payload),
    },
    current.payload,
    { timeoutMs: deliveryPolicy.timeoutMs, policy: urlPolicy },
  );
  const ok = attemptSucceeded(result);
  const outcome = afterAttempt(current, result, hook.consecutiveFailures ?? 0, sentAt, deliveryPolicy);
  const recorded = await webhooks.recordAttempt(orgId, webhookId, eventId, seen, {
    status: outcome.status,
    attempt: outcome.attempt,
    history: outcome.history,
    ...(outcome.nextAttemptAt ? { nextAttemptAt: outcome.nextAttemptAt } : {}),
  });
  // Another receive of the same delivery recorded this attempt first.
  if (!recorded) return 'skipped';
  recordWebhookDelivery(outcome.status === 'pending' ? 'retrying' : outcome.status);
  if (!ok || (hook.consecutiveFailures ?? 0) > 0) await webhooks.recordHealth(orgId, webhookId, ok, sentAt.toISOString());
  if (!ok) {
    logger.warn('Webhook delivery attempt failed', {
      orgId,
      webhookId,
      eventId,
      attempt: outcome.attempt.attempt,
      status: outcome.status,
      ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
      ...(result.error ? { error: result.error } : {}),
    });
  }
  if (outcome.status !== 'pending') return outcome.status;
  const delaySeconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil((Date.parse(outcome.nextAttemptAt!) - Date.now()) / 1000)));
  throw new RetryLater(delaySeconds);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Sets the backoff as the message's visibility; if that fails, the queue's visibility timeout applies. */
async function backOff(record: SQSRecord, delaySeconds: number) {
  try {
    await sqsClient().send(
      new ChangeMessageVisibilityCommand({ QueueUrl: deliveryQueueUrl(), ReceiptHandle: record.receiptHandle, VisibilityTimeout: delaySeconds }),
    );
  } catch (error) {
    logger.warn('Could not set the retry backoff; the queue visibility timeout applies', { messageId: record.messageId, error: error as Error });
  }
}

async function consume(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord) => {
    try {
      return await deliverOne(record);
    } catch (error) {
      if (error instanceof RetryLater) await backOff(record, error.delaySeconds);
      else logger.error('Delivery message failed', { messageId: record.messageId, error: error as Error });
      throw error;
    }
  };
  // A batch whose every attempt is to be retried is not a consumer error: report, don't throw.
  return processPartialResponse(event, recordHandler, processor, { context, processInParallel: true, throwOnFullBatchFailure: false });
}

export const handler = middy(consume).use(captureHandler());
