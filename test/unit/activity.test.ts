/** Activity and audit derivation (pure) and the actor stamp the store puts on every write. */
import { describe, expect, it } from 'vitest';
import { activityFromChange, actorOf, auditFromChange, MAX_ACTIVITY_TEXT } from '../../domain/activity/activity';
import { stampWrites } from '../../domain/kernel/actor';

const card = (over: Record<string, unknown> = {}) => ({
  entity: 'Card',
  orgId: 'o1',
  id: 'card_A',
  pipeId: 'pipe_P',
  phaseId: 'ph_1',
  title: 'Acme',
  values: { fld_a: 'Acme' },
  version: 1,
  createdBy: 'u1',
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:00.000Z',
  lastActor: { type: 'user', id: 'u1' },
  ...over,
});

describe('item activity from stream images', () => {
  it('describes an edit: each changed value and the title, before and after, with the writer', () => {
    const before = card();
    const after = card({
      title: 'Acme Corp',
      values: { fld_a: 'Acme Corp', fld_b: 3 },
      version: 2,
      updatedAt: '2026-12-01T10:05:00.000Z',
      lastActor: { type: 'token', id: 'tok_1' },
    });
    const [entry] = activityFromChange({ eventID: 'e1', eventName: 'MODIFY', before, after });
    expect(entry).toMatchObject({
      itemId: 'card_A',
      itemType: 'card',
      kind: 'updated',
      occurredAt: '2026-12-01T10:05:00.000Z',
      actor: { type: 'token', id: 'tok_1' },
    });
    expect(entry!.changes).toEqual([
      { type: 'title', before: 'Acme', after: 'Acme Corp' },
      { type: 'value', fieldId: 'fld_a', before: 'Acme', after: 'Acme Corp' },
      { type: 'value', fieldId: 'fld_b', before: null, after: 3 },
    ]);
  });

  it('names propagation and automations by the system mark, whatever lastActor says', () => {
    const propagated = card({ changedBy: { source: 'propagation', parentId: 'card_P', connectionId: 'conn_1' }, values: { fld_a: 'X' } });
    expect(actorOf(propagated)).toEqual({ type: 'propagation', parentId: 'card_P', connectionId: 'conn_1' });
    const automated = card({ changedBy: { source: 'automation', automationId: 'auto_1', depth: 1, chainId: 'c' } });
    expect(actorOf(automated)).toEqual({ type: 'automation', id: 'auto_1' });
    // createdBy is a token subject, never an automation's identity
    expect(actorOf(card({ lastActor: undefined, createdBy: 'automation:auto_9' }))).toBeNull();
  });

  it('says nothing for writes no user sees (counts, summaries, a version bump)', () => {
    expect(
      activityFromChange({ eventID: 'e', eventName: 'MODIFY', before: card(), after: card({ version: 2, updatedAt: '2026-12-01T11:00:00.000Z' }) }),
    ).toEqual([]);
  });

  it('shortens long texts, moves and finishes', () => {
    const after = card({ phaseId: 'ph_2', finishedAt: '2026-12-01T10:06:00.000Z', values: { fld_a: 'y'.repeat(5_000) } });
    const [entry] = activityFromChange({ eventID: 'e2', eventName: 'MODIFY', before: card(), after });
    const value = entry!.changes.find((c) => c.type === 'value') as { after: string };
    expect(value.after).toHaveLength(MAX_ACTIVITY_TEXT);
    expect(entry!.changes).toContainEqual({ type: 'phase', from: 'ph_1', to: 'ph_2' });
    expect(entry!.changes).toContainEqual({ type: 'finished' });
  });

  it('gives both ends of an edge an entry, and the same ids on a replay', () => {
    const edge = {
      entity: 'ChildEdge',
      orgId: 'o1',
      parentId: 'card_P',
      childId: 'rec_C',
      connectionId: 'conn_1',
      summary: { id: 'rec_C', title: 'Bolt' },
      connectedAt: '2026-12-01T10:00:00.000Z',
      lastActor: { type: 'user', id: 'u1' },
    };
    const [onParent] = activityFromChange({ eventID: 'e3', eventName: 'INSERT', after: edge });
    expect(onParent).toMatchObject({ itemId: 'card_P', kind: 'childConnected', related: { connectionId: 'conn_1', item: { id: 'rec_C' } } });
    const [onChild] = activityFromChange({
      eventID: 'e4',
      eventName: 'REMOVE',
      approximateCreationTime: 1_796_130_000,
      before: { ...edge, entity: 'ParentEdge', summary: { id: 'card_P' } },
    });
    expect(onChild).toMatchObject({ itemId: 'rec_C', itemType: 'record', kind: 'parentDisconnected', actor: null });
    expect(activityFromChange({ eventID: 'e3', eventName: 'INSERT', after: edge })[0]!.id).toBe(onParent!.id);
  });

  it('records a deletion from the tombstone, with its actor and the last title', () => {
    const tombstone = {
      entity: 'Tombstone',
      orgId: 'o1',
      id: 'card_A',
      pipeId: 'pipe_P',
      title: 'Acme',
      deleted: true,
      version: 3,
      updatedAt: '2026-12-01T12:00:00.000Z',
      lastActor: { type: 'user', id: 'u2' },
    };
    expect(activityFromChange({ eventID: 'e5', eventName: 'INSERT', after: tombstone })).toEqual([
      expect.objectContaining({ itemId: 'card_A', kind: 'deleted', title: 'Acme', actor: { type: 'user', id: 'u2' }, occurredAt: '2026-12-01T12:00:00.000Z' }),
    ]);
  });
});

describe('audit entries', () => {
  const webhook = {
    entity: 'Webhook',
    orgId: 'o1',
    id: 'wh_1',
    url: 'https://a.example/h',
    eventTypes: ['card.*'],
    enabled: true,
    secret: 'sealed:abc',
    secretHint: 'whsec_ab',
    version: 1,
    createdBy: 'u1',
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
    lastActor: { type: 'user', id: 'u1' },
  };

  it('keeps only what changed, never secrets or runtime counters', () => {
    const rotated = { ...webhook, secret: 'sealed:def', previousSecret: 'sealed:abc', version: 2, updatedAt: '2026-12-01T10:01:00.000Z' };
    expect(auditFromChange({ eventID: 'a1', eventName: 'MODIFY', before: webhook, after: rotated })).toBeUndefined();
    const failing = { ...webhook, consecutiveFailures: 3 };
    expect(auditFromChange({ eventID: 'a2', eventName: 'MODIFY', before: webhook, after: failing })).toBeUndefined();
    const moved = { ...webhook, url: 'https://b.example/h', updatedAt: '2026-12-01T10:02:00.000Z' };
    expect(auditFromChange({ eventID: 'a3', eventName: 'MODIFY', before: webhook, after: moved })).toMatchObject({
      entityType: 'webhook',
      entityId: 'wh_1',
      action: 'updated',
      before: { url: 'https://a.example/h' },
      after: { url: 'https://b.example/h' },
      actor: { type: 'user', id: 'u1' },
    });
    const created = auditFromChange({ eventID: 'a4', eventName: 'INSERT', after: webhook })!;
    expect(JSON.stringify(created)).not.toMatch(/sealed|secret/);
  });

  it('ignores cards, records and the store own items', () => {
    expect(auditFromChange({ eventID: 'a5', eventName: 'MODIFY', before: card(), after: card({ title: 'x' }) })).toBeUndefined();
    expect(auditFromChange({ eventID: 'a6', eventName: 'INSERT', after: { entity: 'ChildCount', orgId: 'o1', id: 'x' } })).toBeUndefined();
  });
});

describe('the actor stamp on writes', () => {
  const actor = { type: 'user' as const, id: 'u1' };

  it('adds lastActor to a Put, to the SET clause of an Update, and to a transaction and a batch', () => {
    const put = { TableName: 't', Item: { PK: 'a' } };
    stampWrites('PutItemCommand', put, actor);
    expect(put.Item).toEqual({ PK: 'a', lastActor: actor });

    const update: Record<string, any> = {
      UpdateExpression: 'SET #n = :n REMOVE #old',
      ExpressionAttributeNames: { '#n': 'n', '#old': 'old' },
      ExpressionAttributeValues: { ':n': 1 },
    };
    stampWrites('UpdateItemCommand', update, actor);
    expect(update['UpdateExpression']).toBe('SET #cfLastActor = :cfLastActor, #n = :n REMOVE #old');
    expect(update['ExpressionAttributeNames']).toMatchObject({ '#cfLastActor': 'lastActor', '#n': 'n' });
    expect(update['ExpressionAttributeValues']).toMatchObject({ ':cfLastActor': actor, ':n': 1 });

    const addOnly: Record<string, any> = {
      UpdateExpression: 'ADD #c :one',
      ExpressionAttributeNames: { '#c': 'count' },
      ExpressionAttributeValues: { ':one': 1 },
    };
    stampWrites('UpdateItemCommand', addOnly, actor);
    expect(addOnly['UpdateExpression']).toBe('SET #cfLastActor = :cfLastActor ADD #c :one');

    // a placeholder that happens to contain SET is not the clause
    const tricky: Record<string, any> = { UpdateExpression: 'REMOVE #SETTINGS', ExpressionAttributeNames: { '#SETTINGS': 's' } };
    stampWrites('UpdateItemCommand', tricky, actor);
    expect(tricky['UpdateExpression']).toBe('SET #cfLastActor = :cfLastActor REMOVE #SETTINGS');

    const transaction = {
      TransactItems: [
        { Put: { Item: { PK: 'b' } } },
        { Update: { UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': 1 } } },
        { Delete: { Key: { PK: 'c' } } },
      ],
    };
    stampWrites('TransactWriteItemsCommand', transaction, actor);
    expect(transaction.TransactItems[0]!.Put!.Item).toMatchObject({ lastActor: actor });
    expect(transaction.TransactItems[1]!.Update!.UpdateExpression).toBe('SET #cfLastActor = :cfLastActor, a = :a');
    expect(transaction.TransactItems[2]).toEqual({ Delete: { Key: { PK: 'c' } } });

    const batch = { RequestItems: { t: [{ PutRequest: { Item: { PK: 'd' } } }] } };
    stampWrites('BatchWriteItemCommand', batch, actor);
    expect(batch.RequestItems.t[0]!.PutRequest.Item).toMatchObject({ lastActor: actor });
  });

  it('leaves reads alone', () => {
    const get = { Key: { PK: 'a' } };
    stampWrites('GetItemCommand', get, actor);
    expect(get).toEqual({ Key: { PK: 'a' } });
  });
});
