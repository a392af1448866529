import { beforeAll, describe, expect, it } from 'vitest';
import { client, newOrg } from '../support/api';
import { fieldIds, recruitingPipe } from '../support/fixtures';
import { snapshotOrg } from '../support/table';

describe('batch create/update of cards and records', () => {
  const orgId = newOrg('batch');
  const api = client(orgId, 'admin');
  let pipe: any;
  let f: Record<string, string>;
  const candidate = (name: string, extra: Record<string, unknown> = {}) => ({
    values: { [f['Candidate name']!]: name, [f['Email']!]: `${name.toLowerCase()}@example.com`, ...extra },
  });

  beforeAll(async () => {
    pipe = (await api('createPipe', { body: recruitingPipe })).body;
    f = fieldIds(pipe);
  });

  it('creates 50 cards in one request, in request order, in the start phase', async () => {
    const items = Array.from({ length: 50 }, (_, i) => candidate(`Bulk${String(i).padStart(2, '0')}`));
    const res = await api('batchCards', { params: { pipeId: pipe.id }, body: { items } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items).toHaveLength(50);
    expect(res.body.items.map((c: any) => c.title)).toEqual(items.map((_, i) => `Bulk${String(i).padStart(2, '0')}`));
    expect(res.body.items.every((c: any) => c.version === 1 && c.phaseId === pipe.phases[0].id)).toBe(true);
    const got = await api('getCard', { params: { cardId: res.body.items[49].id } });
    expect(got.body).toMatchObject({ title: 'Bulk49', version: 1 });
  });

  it('mixes creates and updates (with expectedVersion), merging values and bumping versions', async () => {
    const a = (await api('createCard', { params: { pipeId: pipe.id }, body: candidate('Ada') })).body;
    const b = (await api('createCard', { params: { pipeId: pipe.id }, body: candidate('Bob') })).body;
    const res = await api('batchCards', {
      params: { pipeId: pipe.id },
      body: {
        items: [
          { id: a.id, values: { [f['Role']!]: 'Engineer' }, expectedVersion: 1 },
          candidate('Cleo'),
          { id: b.id, values: { [f['Candidate name']!]: 'Bob Marley' } },
        ],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items[0]).toMatchObject({ id: a.id, version: 2, title: 'Ada', values: { [f['Role']!]: 'Engineer', [f['Email']!]: 'ada@example.com' } });
    expect(res.body.items[1]).toMatchObject({ title: 'Cleo', version: 1 });
    expect(res.body.items[2]).toMatchObject({ id: b.id, version: 2, title: 'Bob Marley' });
    expect((await api('getCard', { params: { cardId: a.id } })).body).toMatchObject({ version: 2, values: { [f['Role']!]: 'Engineer' } });
  });

  it('refuses the whole batch with one problem listing every failing item by index, and writes nothing', async () => {
    const a = (await api('createCard', { params: { pipeId: pipe.id }, body: candidate('Dora') })).body;
    const before = await snapshotOrg(orgId);
    const res = await api('batchCards', {
      params: { pipeId: pipe.id },
      body: {
        items: [
          candidate('Fine'),
          candidate('BadRole', { [f['Role']!]: 'Astronaut' }),
          { values: { [f['Role']!]: 'Designer' } },
          { id: a.id, values: { [f['Skills']!]: ['AWS'] }, expectedVersion: 7 },
          { id: 'card_01JD0000000000000000000000', values: {} },
          { id: a.id, values: {} },
        ],
      },
    });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body.code).toBe('batch.itemsInvalid');
    const paths = res.body.errors.map((e: any) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        `items[1].values.${f['Role']}`,
        `items[2].values.${f['Candidate name']}`,
        `items[2].values.${f['Email']}`,
        'items[3].expectedVersion',
        'items[4]',
        'items[5].id',
      ]),
    );
    expect(paths.some((p: string) => p.startsWith('items[0]'))).toBe(false);
    expect(await snapshotOrg(orgId)).toEqual(before);
  });

  it('answers 412 when the only problem is a stale expectedVersion', async () => {
    const a = (await api('createCard', { params: { pipeId: pipe.id }, body: candidate('Eve') })).body;
    await api('updateCard', { params: { cardId: a.id }, body: { values: { [f['Role']!]: 'Sales' } } });
    const res = await api('batchCards', {
      params: { pipeId: pipe.id },
      body: { items: [candidate('Newone'), { id: a.id, values: { [f['Role']!]: 'Designer' }, expectedVersion: 1 }] },
    });
    expect(res.status).toBe(412);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'items[1].expectedVersion', code: 'request.preconditionFailed' })]);
    expect((await api('getCard', { params: { cardId: a.id } })).body).toMatchObject({ version: 2, values: { [f['Role']!]: 'Sales' } });
  });

  it('refuses more than 50 items, an empty batch and a card of another pipe', async () => {
    const tooMany = await api('batchCards', { params: { pipeId: pipe.id }, body: { items: Array.from({ length: 51 }, (_, i) => candidate(`X${i}`)) } });
    expect(tooMany.status).toBe(400);
    expect((await api('batchCards', { params: { pipeId: pipe.id }, body: { items: [] } })).status).toBe(400);
    const other = (await api('createPipe', { body: { name: 'Other' } })).body;
    const foreign = (await api('createCard', { params: { pipeId: other.id }, body: { title: 'Elsewhere' } })).body;
    const res = await api('batchCards', { params: { pipeId: pipe.id }, body: { items: [{ id: foreign.id, values: {} }] } });
    expect(res.status).toBe(422);
    expect(res.body.errors[0]).toMatchObject({ path: 'items[0].id', code: 'batch.wrongContainer' });
    expect((await api('batchCards', { params: { pipeId: 'pipe_01JD0000000000000000000000' }, body: { items: [{ title: 'x' }] } })).status).toBe(404);
  });

  it('is idempotent under Idempotency-Key: a retry replays the answer and creates nothing', async () => {
    const headers = { 'Idempotency-Key': 'batch-retry-1' };
    const body = { items: [candidate('Idem1'), candidate('Idem2')] };
    const first = await api('batchCards', { params: { pipeId: pipe.id }, body, headers });
    expect(first.status).toBe(200);
    const after = await snapshotOrg(orgId);
    const retry = await api('batchCards', { params: { pipeId: pipe.id }, body, headers });
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await snapshotOrg(orgId)).toEqual(after);
  });

  it('records: required fields hold, connection changes count against the 100-write transaction', async () => {
    const suppliers = (
      await api('createDatabase', { body: { name: 'Suppliers', fields: [{ label: 'Name', type: 'short_text', isTitle: true, required: true }] } })
    ).body;
    const contacts = (await api('createDatabase', { body: { name: 'Contacts', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    const connection = (
      await api('createConnection', {
        body: { name: 'Contacts', parent: { type: 'database', id: suppliers.id }, child: { type: 'database', id: contacts.id }, entries: 'multiple' },
      })
    ).body;
    const field = (
      await api('createDatabaseField', { params: { databaseId: suppliers.id }, body: { label: 'Contacts', type: 'connection', connectionId: connection.id } })
    ).body;
    const name = suppliers.fields[0].id;
    const people = (
      await api('batchRecords', {
        params: { databaseId: contacts.id },
        body: { items: Array.from({ length: 50 }, (_, i) => ({ values: { [contacts.fields[0].id]: `P${i}` } })) },
      })
    ).body.items;
    expect(people).toHaveLength(50);

    const missing = await api('batchRecords', { params: { databaseId: suppliers.id }, body: { items: [{ values: { [name]: 'Acme' } }, { values: {} }] } });
    expect(missing.status).toBe(422);
    expect(missing.body.errors).toEqual([expect.objectContaining({ path: `items[1].values.${name}`, code: 'record.requiredFieldMissing' })]);

    const linked = await api('batchRecords', {
      params: { databaseId: suppliers.id },
      body: { items: [{ values: { [name]: 'Acme', [field.id]: [people[0].id, people[1].id] } }, { values: { [name]: 'Bolt', [field.id]: [people[1].id] } }] },
    });
    expect(linked.status, JSON.stringify(linked.body)).toBe(200);
    const acme = (await api('getRecord', { params: { recordId: linked.body.items[0].id } })).body;
    expect(acme.children[0]).toMatchObject({ connectionId: connection.id, count: 2 });

    const before = await snapshotOrg(orgId);
    const huge = await api('batchRecords', {
      params: { databaseId: suppliers.id },
      body: { items: people.slice(0, 30).map((p: any, i: number) => ({ values: { [name]: `S${i}`, [field.id]: [p.id] } })) },
    });
    expect(huge.status).toBe(422);
    expect(huge.body.code).toBe('batch.tooManyWrites');
    expect(await snapshotOrg(orgId)).toEqual(before);
  });
});
