import { describe, expect, it } from 'vitest';
import { changedFieldIds, EVENT_ID, eventId, eventsFromChange, fitEvent, matchesSubscription, type ChangeRecord } from '../../domain/webhooks/events';

const card = (over: Record<string, unknown> = {}) => ({
  PK: 'ORG#o1#CARD#card_1',
  SK: '#META',
  GSI1PK: 'ORG#o1#PIPE#pipe_1#PHASE#ph_1',
  GSI1SK: 'card_1',
  entity: 'Card',
  orgId: 'o1',
  id: 'card_1',
  pipeId: 'pipe_1',
  phaseId: 'ph_1',
  title: 'Acme',
  values: { fld_a: 'Acme', fld_b: ['x', 'y'] },
  phaseHistory: [{ phaseId: 'ph_1', enteredAt: '2026-01-01T00:00:00.000Z' }],
  version: 1,
  createdBy: 'u1',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const change = (
  eventName: ChangeRecord['eventName'],
  before?: Record<string, unknown>,
  after?: Record<string, unknown>,
  eventID = 'stream-event-1',
): ChangeRecord => ({
  eventID,
  eventName,
  approximateCreationTime: 1_767_225_600,
  ...(before ? { before } : {}),
  ...(after ? { after } : {}),
});

describe('events from stream records', () => {
  it('card.created carries the public view of the card: no keys, no internal markers', () => {
    const [event, ...rest] = eventsFromChange(change('INSERT', undefined, card({ changedBy: { source: 'automation' }, 'syncVersion:conn_1': 3 })));
    expect(rest).toEqual([]);
    expect(event!.type).toBe('card.created');
    expect(event!.orgId).toBe('o1');
    expect(event!.occurredAt).toBe('2026-01-01T00:00:00.000Z');
    expect(event!.id).toMatch(EVENT_ID);
    expect(event!.data['card']).toEqual({
      id: 'card_1',
      pipeId: 'pipe_1',
      phaseId: 'ph_1',
      title: 'Acme',
      values: { fld_a: 'Acme', fld_b: ['x', 'y'] },
      phaseHistory: [{ phaseId: 'ph_1', enteredAt: '2026-01-01T00:00:00.000Z' }],
      finished: false,
      version: 1,
      createdBy: 'u1',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('the id is stable under replay, differs per record and per type, and sorts by time', () => {
    const insert = change('INSERT', undefined, card());
    expect(eventsFromChange(insert)[0]!.id).toBe(eventsFromChange({ ...insert })[0]!.id);
    expect(eventsFromChange(change('INSERT', undefined, card(), 'stream-event-2'))[0]!.id).not.toBe(eventsFromChange(insert)[0]!.id);
    expect(eventId('e', 'card.moved', 1000)).not.toBe(eventId('e', 'card.updated', 1000));
    const earlier = eventId('z', 'card.created', Date.parse('2026-01-01T00:00:00Z'));
    const later = eventId('a', 'card.created', Date.parse('2026-01-01T00:00:00.001Z'));
    expect(earlier < later).toBe(true);
    expect(earlier).toMatch(EVENT_ID);
  });

  it('card.moved names the phases; a move with value changes also gives card.updated', () => {
    const before = card();
    const moved = card({ phaseId: 'ph_2', version: 2, updatedAt: '2026-01-02T00:00:00.000Z' });
    const events = eventsFromChange(change('MODIFY', before, moved));
    expect(events.map((e) => e.type)).toEqual(['card.moved']);
    expect(events[0]!.data).toMatchObject({ fromPhaseId: 'ph_1', toPhaseId: 'ph_2', card: { phaseId: 'ph_2' } });
    expect(events[0]!.occurredAt).toBe('2026-01-02T00:00:00.000Z');
    const both = eventsFromChange(change('MODIFY', before, card({ phaseId: 'ph_2', values: { fld_a: 'Acme', fld_b: ['x'] } })));
    expect(both.map((e) => e.type)).toEqual(['card.moved', 'card.updated']);
    expect(new Set(both.map((e) => e.id)).size).toBe(2);
  });

  it('card.updated lists the changed field ids, and the previous title when it changed', () => {
    const after = card({ title: 'Acme Corp', values: { fld_a: 'Acme Corp', fld_b: ['x', 'y'], fld_c: 1 }, version: 2 });
    const [event] = eventsFromChange(change('MODIFY', card(), after));
    expect(event!.type).toBe('card.updated');
    expect(event!.data['changedFieldIds']).toEqual(['fld_a', 'fld_c']);
    expect(event!.data['previousTitle']).toBe('Acme');
    // the same change list the card's activity shows, with the writer
    expect(event!.data['changes']).toEqual([
      { type: 'title', before: 'Acme', after: 'Acme Corp' },
      { type: 'value', fieldId: 'fld_a', before: 'Acme', after: 'Acme Corp' },
      { type: 'value', fieldId: 'fld_c', before: null, after: 1 },
    ]);
    expect(event!.data).toHaveProperty('actor');
    const cleared = eventsFromChange(change('MODIFY', card(), card({ values: { fld_a: 'Acme' } })));
    expect(cleared[0]!.data['changedFieldIds']).toEqual(['fld_b']);
    expect(cleared[0]!.data).not.toHaveProperty('previousTitle');
  });

  it('compares values structurally: key order does not make a change', () => {
    expect(changedFieldIds({ a: { x: 1, y: 2 } }, { a: { y: 2, x: 1 } })).toEqual([]);
    expect(changedFieldIds({ a: [1, 2] }, { a: [2, 1] })).toEqual(['a']);
    expect(changedFieldIds(undefined, { a: 0 })).toEqual(['a']);
  });

  it('writes made by propagation give no event; bookkeeping-only writes give none either', () => {
    const propagated = card({
      values: { fld_a: 'New' },
      title: 'New',
      version: 2,
      changedBy: { source: 'propagation', parentId: 'card_p', connectionId: 'conn_1' },
    });
    expect(eventsFromChange(change('MODIFY', card(), propagated))).toEqual([]);
    expect(eventsFromChange(change('MODIFY', card(), card({ closing: true, 'syncVersion:conn_1': 4 })))).toEqual([]);
    // A user write after propagation removes the marker: it is heard again.
    expect(eventsFromChange(change('MODIFY', propagated, card({ values: { fld_a: 'Mine' }, version: 3 })))).toHaveLength(1);
  });

  it('card.deleted carries the last image and the time of the stream record', () => {
    const [event] = eventsFromChange(change('REMOVE', card(), undefined));
    expect(event!.type).toBe('card.deleted');
    expect(event!.data['card']).toMatchObject({ id: 'card_1', title: 'Acme' });
    expect(event!.occurredAt).toBe(new Date(1_767_225_600_000).toISOString());
  });

  it('records give record.created / updated / deleted, never moved', () => {
    const record = {
      PK: 'ORG#o1#REC#rec_1',
      SK: '#META',
      entity: 'Record',
      orgId: 'o1',
      id: 'rec_1',
      databaseId: 'db_1',
      title: 'R',
      values: { f: 1 },
      version: 1,
      createdBy: 'u',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    expect(eventsFromChange(change('INSERT', undefined, record)).map((e) => e.type)).toEqual(['record.created']);
    const updated = eventsFromChange(change('MODIFY', record, { ...record, values: { f: 2 }, version: 2 }));
    expect(updated.map((e) => e.type)).toEqual(['record.updated']);
    expect(updated[0]!.data['record']).toEqual({
      id: 'rec_1',
      databaseId: 'db_1',
      title: 'R',
      values: { f: 2 },
      version: 2,
      createdBy: 'u',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(eventsFromChange(change('REMOVE', record)).map((e) => e.type)).toEqual(['record.deleted']);
  });

  it('a child edge gives connection.created on INSERT and connection.deleted on REMOVE; summary refreshes give nothing', () => {
    const edge = {
      PK: 'ORG#o1#CARD#card_p',
      SK: 'CHILD#conn_1#rec_1',
      entity: 'ChildEdge',
      orgId: 'o1',
      connectionId: 'conn_1',
      parentId: 'card_p',
      childId: 'rec_1',
      summary: { id: 'rec_1', type: 'record', containerId: 'db_1', title: 'R', finished: false, version: 1 },
      connectedAt: '2026-01-03T00:00:00.000Z',
      lastActor: { type: 'user', id: 'u1' },
    };
    const [created] = eventsFromChange(change('INSERT', undefined, edge));
    expect(created!.type).toBe('connection.created');
    expect(created!.occurredAt).toBe('2026-01-03T00:00:00.000Z');
    expect(created!.data).toEqual({
      connectionId: 'conn_1',
      parentId: 'card_p',
      parentType: 'card',
      childId: 'rec_1',
      childType: 'record',
      child: edge.summary,
      actor: { type: 'user', id: 'u1' },
    });
    const [deleted] = eventsFromChange(change('REMOVE', edge));
    expect(deleted!.type).toBe('connection.deleted');
    expect(deleted!.data).toMatchObject({ connectionId: 'conn_1', parentId: 'card_p', childId: 'rec_1' });
    expect(eventsFromChange(change('MODIFY', edge, { ...edge, summary: { ...edge.summary, title: 'R2', version: 2 } }))).toEqual([]);
  });

  it('other entities give no events', () => {
    for (const entity of ['ParentEdge', 'ChildCount', 'PropagationJob', 'Pipe', 'WebhookDelivery']) {
      expect(eventsFromChange(change('INSERT', undefined, { entity, orgId: 'o1', id: 'x' }))).toEqual([]);
    }
  });

  it('matches subscriptions by type and by family', () => {
    expect(matchesSubscription(['card.moved'], 'card.moved')).toBe(true);
    expect(matchesSubscription(['card.moved'], 'card.updated')).toBe(false);
    expect(matchesSubscription(['card.*'], 'card.deleted')).toBe(true);
    expect(matchesSubscription(['record.*'], 'card.created')).toBe(false);
    expect(matchesSubscription(['connection.*'], 'connection.deleted')).toBe(true);
  });

  it('an oversized event loses its values, marked truncated', () => {
    const [event] = eventsFromChange(change('INSERT', undefined, card({ values: { big: 'x'.repeat(300_000) } })));
    const fitted = fitEvent(event!);
    expect(fitted.data['truncated']).toBe(true);
    expect((fitted.data['card'] as any).values).toEqual({});
    expect(fitted.id).toBe(event!.id);
    expect(fitEvent(eventsFromChange(change('INSERT', undefined, card()))[0]!)).not.toHaveProperty('data.truncated');
  });
});
