/**
 * The same events, on an EventBridge bus (source `cardflow`, detail-type = event type, detail =
 * the event), so other AWS services can subscribe without code here. The client is built once
 * per container, and only when EVENT_BUS_NAME names a bus (locally it does not: nothing is sent).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { CardflowEvent } from '../../domain/webhooks/events';
import { eventBusName } from '../shared/webhook-config';
import { traced } from '../shared/tracer';

export const EVENT_SOURCE = 'cardflow';
/** PutEvents takes at most 10 entries per call. */
const ENTRIES_PER_CALL = 10;

const defaultClient = eventBusName ? traced(new EventBridgeClient({})) : undefined;

export class EventBusError extends Error {
  constructor(readonly failures: Array<{ eventId: string; code?: string; message?: string }>) {
    super(`EventBridge refused ${failures.length} event(s): ${failures.map((f) => `${f.eventId} ${f.code ?? ''} ${f.message ?? ''}`.trim()).join('; ')}`);
    this.name = 'EventBusError';
  }
}

/** Attempts per entry before the record is failed back to the stream. */
const PUT_ATTEMPTS = 3;

/**
 * Publishes the events, retrying refused entries (throttling, internal errors) a few times; if
 * some are still refused it throws, so the stream retries the record. Entries that went through
 * may then arrive twice: subscribers dedupe on detail.id (the event id).
 */
export async function publishEvents(
  events: CardflowEvent[],
  client: EventBridgeClient | undefined = defaultClient,
  busName: string | undefined = eventBusName,
  retryDelayMs = 100,
): Promise<void> {
  if (!client || !busName || !events.length) return;
  let failures: EventBusError['failures'] = [];
  for (let i = 0; i < events.length; i += ENTRIES_PER_CALL) {
    let pending = events.slice(i, i + ENTRIES_PER_CALL);
    for (let attempt = 1; pending.length; attempt++) {
      const batch = pending;
      const result = await client.send(
        new PutEventsCommand({
          Entries: batch.map((event) => ({
            EventBusName: busName,
            Source: EVENT_SOURCE,
            DetailType: event.type,
            Detail: JSON.stringify(event),
            Time: new Date(event.occurredAt),
          })),
        }),
      );
      if (!result.FailedEntryCount) break;
      const refused = batch.map((event, index) => ({ event, entry: result.Entries?.[index] })).filter(({ entry }) => !entry || entry.ErrorCode);
      pending = refused.map(({ event }) => event);
      if (attempt >= PUT_ATTEMPTS) {
        failures = failures.concat(
          refused.map(({ event, entry }) => ({
            eventId: event.id,
            code: entry?.ErrorCode ?? 'Unknown',
            ...(entry?.ErrorMessage ? { message: entry.ErrorMessage } : {}),
          })),
        );
        break;
      }
      await new Promise((r) => setTimeout(r, retryDelayMs * attempt));
    }
  }
  if (failures.length) throw new EventBusError(failures);
}
