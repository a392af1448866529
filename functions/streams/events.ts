/**
 * The outbound-events step of the stream processor (the last step). It makes no HTTP request:
 * webhook deliveries leave the ordered stream path for their own queue and consumer
 * (functions/deliveries/), so a slow receiver holds up no one's propagation.
 *
 * 1. A card, record or child-edge record becomes events (domain/webhooks/events.ts). For each enabled
 *    webhook of the organization subscribed to an event's type, a delivery item (the deliveries
 *    log) is written with a conditional put keyed by (webhook, event id), and a message naming it
 *    is sent to the delivery queue with the organization as message group. A replayed record
 *    finds the item there and enqueues again only if no attempt of its round was made yet (the
 *    first run may have died between the put and the send); a repeated message is harmless, the
 *    consumer acts on the item's state. The events also go to EventBridge when a bus is
 *    configured: one PutEvents call per record, fast and bounded by the SDK's retries, so it stays
 *    here, in stream order, rather than taking a queue hop.
 * 2. A delivery item's own MODIFY record enqueues it again when a redelivery started a new round
 *    (POST …/redeliver); every other change to a delivery item is the consumer's and needs nothing.
 */
import { eventsFromChange, fitEvent, matchesSubscription, type CardflowEvent } from '../../domain/webhooks/events';
import { documentClient } from '../../domain/kernel/client';
import { ENTITY } from '../../domain/kernel/keys';
import { WebhookStore } from '../../domain/webhooks/store';
import type { StreamWork } from '../../domain/propagation/stream';
import type { Webhook, WebhookDelivery } from '../../domain/webhooks/model';
import { tableName } from '../shared/env';
import { enqueueDeliveries, type DeliveryMessage } from '../deliveries/queue';
import { publishEvents } from './event-bus';
import type { StreamStepInput } from './step';

const webhooks = new WebhookStore(documentClient, tableName());

/** What one invocation (one StreamWork) remembers: webhooks per organization. */
interface BatchState {
  webhooksByOrg: Map<string, Promise<Webhook[]>>;
}

const batches = new WeakMap<StreamWork, BatchState>();

function stateOf(work: StreamWork): BatchState {
  let state = batches.get(work);
  if (!state) {
    state = { webhooksByOrg: new Map() };
    batches.set(work, state);
  }
  return state;
}

function webhooksOf(state: BatchState, orgId: string): Promise<Webhook[]> {
  let hooks = state.webhooksByOrg.get(orgId);
  if (!hooks) {
    hooks = webhooks.all(orgId);
    state.webhooksByOrg.set(orgId, hooks);
  }
  return hooks;
}

export async function eventsStep({ record, before, after, work }: StreamStepInput): Promise<void> {
  const image = after ?? before;
  if (image?.['entity'] === ENTITY.webhookDelivery) {
    if (record.eventName === 'MODIFY' && after && before)
      await onDeliveryChanged(before as unknown as WebhookDelivery, after as unknown as WebhookDelivery & { orgId: string });
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

/** A delivery round with no attempt yet: the queue may not have it (yet). */
const unattempted = (d: Pick<WebhookDelivery, 'status' | 'attempts' | 'roundStartAttempts'>) =>
  d.status === 'pending' && d.attempts === (d.roundStartAttempts ?? 0);

async function recordDeliveries(events: CardflowEvent[], state: BatchState) {
  const orgId = events[0]!.orgId;
  const hooks = (await webhooksOf(state, orgId)).filter((h) => h.enabled);
  if (!hooks.length) return;
  const now = new Date().toISOString();
  const writes: Array<Promise<DeliveryMessage | null>> = [];
  for (const event of events) {
    const payload = JSON.stringify(event);
    for (const hook of hooks) {
      if (!matchesSubscription(hook.eventTypes, event.type)) continue;
      const message: DeliveryMessage = { orgId, webhookId: hook.id, eventId: event.id };
      writes.push(
        webhooks
          .createDelivery(orgId, {
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
          })
          .then(async (created) => {
            if (created) return message;
            // A replay: enqueue again only if the first run may have stopped before its send.
            const existing = await webhooks.getDelivery(orgId, hook.id, event.id);
            return existing && unattempted(existing) ? message : null;
          }),
      );
    }
  }
  await enqueueDeliveries((await Promise.all(writes)).filter((m): m is DeliveryMessage => m !== null));
}

/** A redelivery (a new round on a finished delivery) goes back on the queue. */
async function onDeliveryChanged(before: WebhookDelivery, after: WebhookDelivery & { orgId: string }) {
  if ((after.redeliveries ?? 0) > (before.redeliveries ?? 0) && unattempted(after)) {
    await enqueueDeliveries([{ orgId: after.orgId, webhookId: after.webhookId, eventId: after.eventId }]);
  }
}
