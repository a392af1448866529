/**
 * The outbound-events step of the stream processor (the last step).
 *
 * 1. A card, record or child-edge record becomes events (domain/events.ts). For each enabled
 *    webhook of the organization subscribed to an event's type, a delivery item is written with
 *    a conditional put keyed by (webhook, event id): a replayed record finds it there and adds
 *    nothing. The events also go to EventBridge when a bus is configured. No HTTP happens here,
 *    so a slow receiver never holds up the records of cards and records.
 * 2. A delivery item's own stream records drive its attempts: its INSERT makes the first one,
 *    and each failed attempt writes the next one's due time (exponential backoff), whose MODIFY
 *    record makes the next attempt, until one succeeds or the attempts of the round are spent.
 *    Before attempting, the current item is read: a record whose attempt count is no longer
 *    current (a replay, a duplicate) does nothing, and the outcome is written on the condition
 *    that the count is still the one read. Delivery is at least once (a crash after the POST and
 *    before the write repeats the attempt); receivers dedupe on webhook-id.
 *
 * Bounds on how long deliveries hold the shard: one attempt per record (timeout 5 s), waits of
 * at most backoffMaxMs before a retry, a circuit breaker per webhook (once 5 attempts in a row
 * failed, a failed attempt is final until one succeeds), and a time budget per invocation past
 * which due attempts are handed to the next invocation (a write that gives the delivery a new
 * stream record) instead of being made now.
 */
import { eventsFromChange, fitEvent, matchesSubscription, type CardflowEvent } from '../../domain/events';
import { documentClient } from '../../domain/store/client';
import { ENTITY } from '../../domain/store/keys';
import { WebhookStore } from '../../domain/store/webhooks';
import type { StreamWork } from '../../domain/stream';
import { afterAttempt, attemptSucceeded, signatureHeader, signingSecrets, type Webhook, type WebhookDelivery } from '../../domain/webhooks';
import { tableName } from '../shared/env';
import { logger } from '../shared/logger';
import { recordWebhookDelivery } from '../shared/metrics';
import { openWebhookSecrets } from '../shared/secrets';
import { deliveryBudgetMs, deliveryPolicy, urlPolicy } from '../shared/webhook-config';
import { publishEvents } from './event-bus';
import type { StreamStepInput } from './processor';
import { postWebhook } from './webhook-http';

const webhooks = new WebhookStore(documentClient, tableName());

/** What one invocation (one StreamWork) remembers: webhooks per organization, delivery time spent. */
interface BatchState {
  webhooksByOrg: Map<string, Promise<Webhook[]>>;
  deliveryStartedAt?: number;
}

const batches = new WeakMap<StreamWork, BatchState>();

function stateOf(work: StreamWork): BatchState {
  let state = batches.get(work);
  if (!state) batches.set(work, (state = { webhooksByOrg: new Map() }));
  return state;
}

function webhooksOf(state: BatchState, orgId: string): Promise<Webhook[]> {
  let hooks = state.webhooksByOrg.get(orgId);
  if (!hooks) state.webhooksByOrg.set(orgId, (hooks = webhooks.all(orgId)));
  return hooks;
}

export async function eventsStep({ record, before, after, work }: StreamStepInput): Promise<void> {
  const image = after ?? before;
  if (image?.['entity'] === ENTITY.webhookDelivery) {
    if (after && record.eventName !== 'REMOVE') await attemptDelivery(after as unknown as WebhookDelivery & { orgId: string }, stateOf(work));
    return;
  }
  if (!record.eventName) return;
  const events = eventsFromChange({
    eventID: record.eventID ?? record.dynamodb?.SequenceNumber ?? '',
    eventName: record.eventName,
    ...(record.dynamodb?.ApproximateCreationDateTime !== undefined ? { approximateCreationTime: record.dynamodb.ApproximateCreationDateTime } : {}),
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
  }).map((event) => fitEvent(event));
  if (!events.length) return;
  await recordDeliveries(events, stateOf(work));
  await publishEvents(events);
}

async function recordDeliveries(events: CardflowEvent[], state: BatchState) {
  const orgId = events[0]!.orgId;
  const hooks = (await webhooksOf(state, orgId)).filter((h) => h.enabled);
  if (!hooks.length) return;
  const now = new Date().toISOString();
  const writes: Array<Promise<boolean>> = [];
  for (const event of events) {
    const payload = JSON.stringify(event);
    for (const hook of hooks) {
      if (!matchesSubscription(hook.eventTypes, event.type)) continue;
      writes.push(
        webhooks.createDelivery(orgId, {
          webhookId: hook.id,
          eventId: event.id,
          eventType: event.type,
          payload,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: now,
          history: [],
          createdAt: now,
          updatedAt: now,
        }),
      );
    }
  }
  await Promise.all(writes);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function attemptDelivery(image: WebhookDelivery & { orgId: string }, state: BatchState) {
  if (image.status !== 'pending') return;
  const { orgId, webhookId, eventId } = image;
  const seen = image.attempts;
  const current = await webhooks.getDelivery(orgId, webhookId, eventId);
  // Stale or repeated record: the attempt it stood for was made, and a later record carries on.
  if (!current || current.status !== 'pending' || current.attempts !== seen) return;
  const hook = await webhooks.get(orgId, webhookId);
  if (!hook || !hook.enabled) {
    await webhooks.abandon(orgId, webhookId, eventId, seen, hook ? 'webhook disabled' : 'webhook deleted', new Date().toISOString());
    recordWebhookDelivery('abandoned');
    return;
  }

  const dueIn = Date.parse(current.nextAttemptAt ?? current.createdAt) - Date.now();
  const wait = Math.max(0, Math.min(dueIn, deliveryPolicy.backoffMaxMs));
  if (state.deliveryStartedAt === undefined) state.deliveryStartedAt = Date.now();
  else if (Date.now() - state.deliveryStartedAt + wait + deliveryPolicy.timeoutMs > deliveryBudgetMs) {
    // This invocation has spent its delivery budget: the next one makes the attempt.
    await webhooks.defer(orgId, webhookId, eventId, seen);
    recordWebhookDelivery('deferred');
    return;
  }
  if (wait > 0) await sleep(wait);

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
  if (!recorded) return;
  recordWebhookDelivery(outcome.status === 'pending' ? 'retrying' : outcome.status);
  if (!ok || (hook.consecutiveFailures ?? 0) > 0) await webhooks.recordHealth(orgId, webhookId, ok, sentAt.toISOString());
  if (!ok) {
    logger.warn('Webhook delivery attempt failed', {
      webhookId,
      eventId,
      attempt: outcome.attempt.attempt,
      status: outcome.status,
      ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
      ...(result.error ? { error: result.error } : {}),
    });
  }
}
