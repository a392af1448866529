import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { CardflowEvent } from '../../domain/webhooks/events';
import { EventBusError, publishEvents } from '../../functions/streams/event-bus';

const eventBridge = mockClient(EventBridgeClient);
const client = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const events: CardflowEvent[] = Array.from({ length: 12 }, (_, i) => ({
  id: `evt_01JD00000000000000000000${String(i).padStart(2, '0')}`,
  type: 'card.created',
  occurredAt: '2026-01-01T00:00:00.000Z',
  orgId: 'o1',
  data: { card: { id: `card_${i}` } },
}));

afterEach(() => eventBridge.reset());

describe('EventBridge publication', () => {
  it('does nothing without a bus (local runs)', async () => {
    await publishEvents(events, undefined, undefined);
    await publishEvents(events, client, undefined);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('puts every event, 10 entries a call: source cardflow, detail-type = type, detail = the event', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await publishEvents(events, client, 'cardflow-events');
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length)).toEqual([10, 2]);
    const entry = calls[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ EventBusName: 'cardflow-events', Source: 'cardflow', DetailType: 'card.created' });
    expect(JSON.parse(entry.Detail!)).toEqual(events[0]);
  });

  it('retries only the refused entries, and succeeds when they go through', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await publishEvents(events.slice(0, 2), client, 'bus', 1);
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(JSON.parse(calls[1]!.args[0].input.Entries![0]!.Detail!).id).toBe(events[1]!.id);
  });

  it('throws, naming the events, when entries stay refused (the stream then retries the record)', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] });
    const error = await publishEvents(events.slice(0, 1), client, 'bus', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventBusError);
    expect((error as EventBusError).failures).toEqual([{ eventId: events[0]!.id, code: 'InternalFailure', message: 'boom' }]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
  });

  it('lets a failed call (network, access denied) through to the stream', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('AccessDeniedException'));
    await expect(publishEvents(events.slice(0, 1), client, 'bus', 1)).rejects.toThrow('AccessDeniedException');
  });
});
