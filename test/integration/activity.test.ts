/**
 * Activity and audit, written from the real DynamoDB Local stream: who changed what and when,
 * for cards and records, and for the organization's setup; replays add nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, client } from '../support/api';
import { graphCheckedOrgs } from '../support/graph';
import { snapshotOrg } from '../support/table';
import { startStreamHarness, type StreamHarness } from '../support/stream';

let stream: StreamHarness;
beforeAll(async () => {
  stream = await startStreamHarness();
});
afterAll(async () => {
  await stream?.stop();
});

const newOrg = graphCheckedOrgs();

async function allActivity(orgId: string, route: 'cardActivity' | 'recordActivity', params: Record<string, string>, role: 'admin' | 'member' = 'admin') {
  const entries: any[] = [];
  let cursor: string | undefined;
  do {
    const res = await call(route, { params, query: { limit: '2', ...(cursor ? { cursor } : {}) } }, { orgId, role });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    entries.push(...res.body.items);
    cursor = res.body.nextCursor ?? undefined;
  } while (cursor);
  return entries;
}

describe("a card's activity", () => {
  it('tells who created, edited, moved, finished and deleted it, newest first, and keeps it for admins after deletion', async () => {
    const orgId = newOrg('activity');
    const alice = (routeId: any, options: any = {}) => call(routeId, options, { orgId, role: 'admin', userId: 'alice' });
    const pipe = (
      await alice('createPipe', {
        body: {
          name: 'Deals',
          startFormFields: [
            { label: 'Company', type: 'short_text', isTitle: true },
            { label: 'Notes', type: 'long_text' },
          ],
          phases: [{ name: 'Open' }, { name: 'Won', done: true }],
        },
      })
    ).body;
    const [company, notes] = pipe.startForm.fields.map((f: any) => f.id);
    const card = (await alice('createCard', { params: { pipeId: pipe.id }, body: { values: { [company]: 'Acme' } } })).body;
    const long = 'x'.repeat(1_000);
    // An API token edits it; then alice moves it to a done phase; then deletes it.
    const edit = await call(
      'updateCard',
      { params: { cardId: card.id }, body: { values: { [company]: 'Acme Corp', [notes]: long } } },
      { orgId, role: 'member', tokenId: 'tok_01JABCDEFGHJKMNPQRSTVWXYZ0', userId: 'tok_01JABCDEFGHJKMNPQRSTVWXYZ0' },
    );
    expect(edit.status).toBe(200);
    expect((await alice('moveCard', { params: { cardId: card.id }, body: { phaseId: pipe.phases[1].id } })).status).toBe(200);
    await stream.poller.drain();

    const live = await allActivity(orgId, 'cardActivity', { cardId: card.id }, 'member');
    expect(live.map((e) => e.kind)).toEqual(['updated', 'updated', 'created']);
    const [moved, edited, created] = live;
    expect(created).toMatchObject({ itemId: card.id, itemType: 'card', actor: { type: 'user', id: 'alice' }, kind: 'created' });
    expect(created.changes).toContainEqual({ type: 'value', fieldId: company, before: null, after: 'Acme' });
    expect(edited.actor).toEqual({ type: 'token', id: 'tok_01JABCDEFGHJKMNPQRSTVWXYZ0' });
    expect(edited.changes).toContainEqual({ type: 'value', fieldId: company, before: 'Acme', after: 'Acme Corp' });
    expect(edited.changes).toContainEqual({ type: 'title', before: 'Acme', after: 'Acme Corp' });
    const longChange = edited.changes.find((c: any) => c.fieldId === notes);
    expect(longChange.after).toHaveLength(280);
    expect(longChange.after.endsWith('…')).toBe(true);
    expect(moved.actor).toEqual({ type: 'user', id: 'alice' });
    expect(moved.changes).toEqual([{ type: 'phase', from: pipe.phases[0].id, to: pipe.phases[1].id }, { type: 'finished' }]);
    expect(Date.parse(moved.occurredAt)).toBeGreaterThanOrEqual(Date.parse(edited.occurredAt));

    expect((await alice('deleteCard', { params: { cardId: card.id } })).status).toBe(204);
    await stream.poller.drain();
    const after = await allActivity(orgId, 'cardActivity', { cardId: card.id });
    expect(after[0]).toMatchObject({ kind: 'deleted', actor: { type: 'user', id: 'alice' }, title: 'Acme Corp' });
    expect(after.slice(1)).toEqual(live);
    // To a member the deleted card does not exist, history included.
    expect((await call('cardActivity', { params: { cardId: card.id } }, { orgId, role: 'member' })).status).toBe(404);

    // A replay of every stream record processed so far writes no second entry.
    for (const event of [...stream.delivered]) await stream.handler(event, {} as any);
    expect(await allActivity(orgId, 'cardActivity', { cardId: card.id })).toEqual(after);
  });

  it('answers 404 for a card that never existed, and 400 for a cursor of another card', async () => {
    const api = client(newOrg('activity-404'));
    expect((await api('cardActivity', { params: { cardId: 'card_01JABCDEFGHJKMNPQRSTVWXYZ0' } })).status).toBe(404);
    const pipe = (await api('createPipe', { body: { name: 'P', startFormFields: [{ label: 'T', type: 'short_text', isTitle: true }] } })).body;
    const a = (await api('createCard', { params: { pipeId: pipe.id }, body: { values: {} } })).body;
    const b = (await api('createCard', { params: { pipeId: pipe.id }, body: { values: {} } })).body;
    await api('updateCard', { params: { cardId: a.id }, body: { title: 'one' } });
    await api('updateCard', { params: { cardId: a.id }, body: { title: 'two' } });
    await stream.poller.drain();
    const first = await api('cardActivity', { params: { cardId: a.id }, query: { limit: '1' } });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect((await api('cardActivity', { params: { cardId: b.id }, query: { cursor: first.body.nextCursor } })).status).toBe(400);
  });
});

describe('connections in activity', () => {
  it('shows children connected and disconnected on the parent, the parent on the child, and synced values as propagation', async () => {
    const orgId = newOrg('activity-conn');
    const api = client(orgId);
    const fields = [{ label: 'Name', type: 'short_text', isTitle: true }];
    const parents = (await api('createPipe', { body: { name: 'Accounts', startFormFields: fields } })).body;
    const children = (await api('createPipe', { body: { name: 'Contacts', startFormFields: fields } })).body;
    const [pName] = parents.startForm.fields.map((f: any) => f.id);
    const [cName] = children.startForm.fields.map((f: any) => f.id);
    const connection = (
      await api('createConnection', {
        body: {
          name: 'contacts',
          parent: { type: 'pipe', id: parents.id },
          child: { type: 'pipe', id: children.id },
          entries: 'multiple',
          fieldMap: [{ childFieldId: cName, parentFieldId: pName, sync: true }],
        },
      })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: parents.id }, body: { values: { [pName]: 'Acme' } } })).body;
    const child = (await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: {} } })).body;
    const childId = child.id ?? child.child?.id;
    await api('updateCard', { params: { cardId: parent.id }, body: { values: { [pName]: 'Acme Corp' } } });
    await stream.poller.drain();
    expect((await api('removeCardChild', { params: { cardId: parent.id, childId }, query: { connectionId: connection.id } })).status).toBe(204);
    await stream.poller.drain();

    const ofParent = await allActivity(orgId, 'cardActivity', { cardId: parent.id });
    // A removal's time is the stream record's (whole seconds): it is never before the edge was
    // made, but may sort before other changes of the same second.
    const disconnected = ofParent.find((e) => e.kind === 'childDisconnected');
    expect(disconnected).toMatchObject({ actor: null, related: { connectionId: connection.id, item: { id: childId } } });
    expect(ofParent.filter((e) => e !== disconnected).map((e) => e.kind)).toEqual(['updated', 'childConnected', 'created']);
    expect(ofParent.filter((e) => e !== disconnected)[1]).toMatchObject({
      actor: { type: 'user' },
      related: { connectionId: connection.id, item: { id: childId } },
    });
    const ofChild = await allActivity(orgId, 'cardActivity', { cardId: childId });
    const synced = ofChild.find((e) => e.kind === 'updated');
    expect(synced).toMatchObject({ actor: { type: 'propagation', parentId: parent.id, connectionId: connection.id } });
    expect(synced.changes).toContainEqual({ type: 'value', fieldId: cName, before: 'Acme', after: 'Acme Corp' });
    expect(ofChild.map((e) => e.kind)).toContain('parentConnected');
    expect(ofChild.map((e) => e.kind)).toContain('parentDisconnected');
  });
});

describe('the audit trail', () => {
  it("lists the organization's setup changes with their actor, before and after, never a secret; admins only", async () => {
    const orgId = newOrg('audit');
    const bob = (routeId: any, options: any = {}) => call(routeId, options, { orgId, role: 'admin', userId: 'bob' });
    const started = new Date().toISOString();
    const pipe = (await bob('createPipe', { body: { name: 'Hiring', startFormFields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    expect((await bob('updatePipe', { params: { pipeId: pipe.id }, body: { name: 'Recruiting' } })).status).toBe(200);
    const webhook = (await bob('createWebhook', { body: { url: 'https://erp.example.com/hooks', eventTypes: ['card.*'] } })).body;
    const token = (await bob('createApiToken', { body: { name: 'ERP sync', role: 'member' } })).body;
    await stream.poller.drain();

    const all = (await bob('listAudit')).body.items;
    const renamed = all.find((e: any) => e.entityType === 'pipe' && e.action === 'updated');
    expect(renamed).toMatchObject({ entityId: pipe.id, actor: { type: 'user', id: 'bob' }, before: { name: 'Hiring' }, after: { name: 'Recruiting' } });
    expect(all.find((e: any) => e.entityType === 'webhook')).toMatchObject({
      entityId: webhook.id,
      action: 'created',
      after: { url: 'https://erp.example.com/hooks' },
    });
    expect(all.find((e: any) => e.entityType === 'apiToken')).toMatchObject({ entityId: token.id, action: 'created', actor: { type: 'user', id: 'bob' } });
    const text = JSON.stringify(all);
    expect(text).not.toContain(webhook.secret);
    expect(text).not.toContain(token.secret);
    expect(text).not.toMatch(/"secret"|"previousSecret"|"secretHash"/);
    // newest first
    const times = all.map((e: any) => e.occurredAt);
    expect([...times].sort().reverse()).toEqual(times);

    const pipesOnly = (await bob('listAudit', { query: { entityType: 'pipe', from: started } })).body.items;
    expect(pipesOnly.length).toBeGreaterThanOrEqual(2);
    expect(pipesOnly.every((e: any) => e.entityType === 'pipe')).toBe(true);
    expect((await bob('listAudit', { query: { to: '2000-01-01T00:00:00Z' } })).body.items).toEqual([]);
    expect((await bob('listAudit', { query: { from: '2030-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z' } })).status).toBe(400);
    expect((await call('listAudit', {}, { orgId, role: 'member' })).status).toBe(403);
  });
});

describe('retention per organization', () => {
  it('an admin sets how long entries are kept; entries written from then on expire accordingly, and the change is audited', async () => {
    const orgId = newOrg('retention');
    const api = client(orgId);
    const defaults = await api('getSettings');
    expect(defaults.body).toEqual({ activityRetentionDays: 90, version: 0 });
    expect((await call('updateSettings', { body: { activityRetentionDays: 7 } }, { orgId, role: 'member' })).status).toBe(403);
    expect((await api('updateSettings', { body: { activityRetentionDays: 0 } })).status).toBe(400);
    expect((await api('updateSettings', { body: {} })).status).toBe(400);
    expect((await api('updateSettings', { body: { activityRetentionDays: 7 }, headers: { 'if-match': '"5"' } })).status).toBe(412);
    const changed = await api('updateSettings', { body: { activityRetentionDays: 7 }, headers: { 'if-match': '"0"' } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ activityRetentionDays: 7, version: 1 });
    expect(changed.headers['etag']).toBe('"1"');

    const pipe = (await api('createPipe', { body: { name: 'P', startFormFields: [{ label: 'T', type: 'short_text', isTitle: true }] } })).body;
    const card = (await api('createCard', { params: { pipeId: pipe.id }, body: { title: 'short-lived' } })).body;
    await stream.poller.drain();
    const entries = (await snapshotOrg(orgId)).filter((i) => i['entity'] === 'Activity' && String(i['PK']).endsWith(card.id));
    expect(entries).toHaveLength(1);
    const occurred = Date.parse((entries[0]!['entry'] as { occurredAt: string }).occurredAt) / 1000;
    expect(entries[0]!['expiresAt']).toBe(Math.floor(occurred) + 7 * 86_400);
    const audit = (await api('listAudit', { query: { entityType: 'settings' } })).body.items;
    expect(audit).toEqual([expect.objectContaining({ action: 'created', after: expect.objectContaining({ activityRetentionDays: 7 }) })]);
  });
});
