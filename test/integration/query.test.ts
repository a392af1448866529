import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchWrite } from '../../domain/items/batch';
import { READ_BUDGET, SORT_BUDGET } from '../../domain/items/query';
import { contextFor } from '../../functions/shared/store';
import { documentClient } from '../../domain/kernel/client';
import { keys } from '../../domain/kernel/keys';
import { client, newOrg } from '../support/api';
import { fieldIds, recruitingPipe } from '../support/fixtures';

/**
 * Loads the handler modules before the timed requests: on a loaded machine a cold import can
 * outlast the 10 s the test context grants a request. Answers are not checked here.
 */
beforeAll(async () => {
  const api = client(newOrg('warm'), 'admin');
  await api('listPipes');
  await api('listDatabases');
  await api('listCards', { params: { pipeId: 'pipe_01JD0000000000000000000000' } });
  await api('listRecords', { params: { databaseId: 'db_01JD0000000000000000000000' } });
}, 180_000);

type Api = ReturnType<typeof client>;

/** Every page of a list query, following nextCursor; checks no item is returned twice. */
async function all(api: Api, route: 'listCards' | 'listRecords', params: Record<string, string>, query: Record<string, string>) {
  const items: any[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const res = await api(route, { params, query: { ...query, ...(cursor ? { cursor } : {}) } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor ?? undefined;
    pages++;
  } while (cursor && pages < 100);
  expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
  return items;
}

describe('card and record queries: filters, sort, pagination', { timeout: 180_000 }, () => {
  const orgId = newOrg('query');
  const api = client(orgId, 'admin');
  let pipe: any;
  let f: Record<string, string>;
  let cards: any[];
  const titles = (list: any[]) => list.map((c) => c.title);

  beforeAll(async () => {
    pipe = (await api('createPipe', { body: recruitingPipe })).body;
    f = fieldIds(pipe);
    const people: Array<[string, string, string[], string | undefined]> = [
      ['Ada Lovelace', 'Engineer', ['TypeScript', 'AWS'], '2026-01-10'],
      ['Álvaro Núñez', 'Designer', ['Figma'], '2026-02-01'],
      ['Grace Hopper', 'Engineer', ['AWS'], '2026-03-15'],
      ['Alan Turing', 'Sales', [], undefined],
      ['Barbara Liskov', 'Engineer', ['TypeScript'], '2026-01-20'],
      ['Edsger Dijkstra', 'Designer', [], '2025-12-31'],
    ];
    const res = await api('batchCards', {
      params: { pipeId: pipe.id },
      body: {
        items: people.map(([name, role, skills, start]) => ({
          values: {
            [f['Candidate name']!]: name,
            [f['Email']!]: `${name.split(' ')[0]!.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()}@example.com`,
            [f['Role']!]: role,
            ...(skills.length ? { [f['Skills']!]: skills } : {}),
            ...(start ? { [f['Start date']!]: start } : {}),
          },
        })),
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    cards = res.body.items;
    // Ada, Grace and Barbara reach Interview with scores; Grace goes on to Offer with a salary.
    for (const [i, score] of [
      [0, 7],
      [2, 9],
      [4, 5],
    ] as const) {
      await api('moveCard', { params: { cardId: cards[i].id }, body: { phaseId: pipe.phases[1].id } });
      await api('updateCard', { params: { cardId: cards[i].id }, body: { values: { [f['Interview score']!]: score } } });
    }
    await api('moveCard', { params: { cardId: cards[2].id }, body: { phaseId: pipe.phases[2].id } });
    await api('updateCard', { params: { cardId: cards[2].id }, body: { values: { [f['Salary']!]: 120000.5 } } });
    expect((await api('moveCard', { params: { cardId: cards[5].id }, body: { phaseId: pipe.phases[3].id } })).status).toBe(200);
  }, 180_000);

  const list = (query: Record<string, string>) => all(api, 'listCards', { pipeId: pipe.id }, query);

  it('filters on field values: equals, in, ranges, contains (case/accent-insensitive), empty, lists', async () => {
    expect(titles(await list({ [`filter[${f['Role']}]`]: 'Engineer' })).sort()).toEqual(['Ada Lovelace', 'Barbara Liskov', 'Grace Hopper']);
    expect(titles(await list({ [`filter[${f['Role']}][in]`]: 'Sales,Designer' })).sort()).toEqual(['Alan Turing', 'Edsger Dijkstra', 'Álvaro Núñez']);
    expect(titles(await list({ [`filter[${f['Interview score']}][gte]`]: '7' })).sort()).toEqual(['Ada Lovelace', 'Grace Hopper']);
    expect(titles(await list({ [`filter[${f['Interview score']}][gt]`]: '5', [`filter[${f['Interview score']}][lt]`]: '9' }))).toEqual(['Ada Lovelace']);
    expect(titles(await list({ [`filter[${f['Salary']}][gte]`]: '100000' }))).toEqual(['Grace Hopper']);
    expect(titles(await list({ [`filter[${f['Start date']}][lt]`]: '2026-01-15' })).sort()).toEqual(['Ada Lovelace', 'Edsger Dijkstra']);
    expect(titles(await list({ [`filter[${f['Start date']}][empty]`]: 'true' }))).toEqual(['Alan Turing']);
    expect(titles(await list({ [`filter[${f['Candidate name']}][contains]`]: 'NUNEZ' }))).toEqual(['Álvaro Núñez']);
    expect(titles(await list({ [`filter[${f['Skills']}]`]: 'AWS' })).sort()).toEqual(['Ada Lovelace', 'Grace Hopper']);
    expect(titles(await list({ [`filter[${f['Skills']}][empty]`]: 'true' })).sort()).toEqual(['Alan Turing', 'Edsger Dijkstra']);
    expect(titles(await list({ [`filter[${f['Role']}][ne]`]: 'Engineer', [`filter[${f['Skills']}][empty]`]: 'false' }))).toEqual(['Álvaro Núñez']);
  });

  it('filters on phase, finished, title prefix and times', async () => {
    expect(titles(await list({ 'filter[phase]': pipe.phases[1].id })).sort()).toEqual(['Ada Lovelace', 'Barbara Liskov']);
    expect(titles(await list({ phaseId: pipe.phases[1].id })).sort()).toEqual(['Ada Lovelace', 'Barbara Liskov']);
    expect(titles(await list({ 'filter[phase][in]': `${pipe.phases[2].id},${pipe.phases[1].id}` }))).toEqual([
      'Ada Lovelace',
      'Barbara Liskov',
      'Grace Hopper',
    ]);
    expect(titles(await list({ 'filter[finished]': 'true' }))).toEqual(['Edsger Dijkstra']);
    expect(titles(await list({ 'filter[title][prefix]': 'al' }))).toEqual(['Alan Turing', 'Álvaro Núñez']);
    expect(titles(await list({ 'filter[title][prefix]': 'AL', [`filter[${f['Role']}]`]: 'Sales' }))).toEqual(['Alan Turing']);
    const grace = (await api('getCard', { params: { cardId: cards[2].id } })).body;
    expect(titles(await list({ 'filter[updatedAt][gte]': grace.updatedAt }))).toContain('Grace Hopper');
    expect(await list({ 'filter[createdAt][lt]': '2000-01-01T00:00:00Z' })).toEqual([]);
    expect(await list({ 'filter[updatedAt][gte]': '2030-01-01T00:00:00Z', 'filter[updatedAt][lte]': '2020-01-01T00:00:00Z' })).toEqual([]);
    expect(titles(await list({ 'filter[updatedAt][gte]': '2020-01-01T00:00:00Z', 'filter[updatedAt][lte]': '2100-01-01T00:00:00Z' }))).toHaveLength(6);
  });

  it('sorts by createdAt across phases, updatedAt, title and a field value, paging stably', async () => {
    const created = await list({ sort: 'createdAt', limit: '2' });
    expect(created.map((c) => c.id)).toEqual(cards.map((c) => c.id));
    expect((await list({ sort: '-createdAt', limit: '4' })).map((c) => c.id)).toEqual(cards.map((c) => c.id).reverse());
    const byTitle = titles(await list({ sort: 'title', limit: '2' }));
    expect(byTitle).toEqual(['Ada Lovelace', 'Alan Turing', 'Álvaro Núñez', 'Barbara Liskov', 'Edsger Dijkstra', 'Grace Hopper']);
    expect(titles(await list({ sort: '-title', limit: '5' }))).toEqual([...byTitle].reverse());
    const byUpdate = await list({ sort: '-updatedAt', limit: '2' });
    expect(byUpdate).toHaveLength(6);
    expect(byUpdate.map((c) => c.updatedAt)).toEqual(
      byUpdate
        .map((c) => c.updatedAt)
        .sort()
        .reverse(),
    );
    // Empty values sort last either way; ties break by id.
    expect(titles(await list({ sort: f['Interview score']!, limit: '2' })).slice(0, 3)).toEqual(['Barbara Liskov', 'Ada Lovelace', 'Grace Hopper']);
    expect(titles(await list({ sort: `-${f['Start date']}`, limit: '2' }))).toEqual([
      'Grace Hopper',
      'Álvaro Núñez',
      'Barbara Liskov',
      'Ada Lovelace',
      'Edsger Dijkstra',
      'Alan Turing',
    ]);
    expect(titles(await list({ sort: 'createdAt', [`filter[${f['Role']}]`]: 'Engineer', limit: '1' }))).toEqual([
      'Ada Lovelace',
      'Grace Hopper',
      'Barbara Liskov',
    ]);
  });

  it('refuses what it cannot answer with a 400 naming the parameter', async () => {
    const expect400 = async (query: Record<string, string>, path: string, code?: string) => {
      const res = await api('listCards', { params: { pipeId: pipe.id }, query });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.errors[0].path).toBe(path);
      if (code) expect(res.body.errors[0].code).toBe(code);
    };
    await expect400({ 'filter[fld_01JD0000000000000000000000]': 'x' }, 'query.filter[fld_01JD0000000000000000000000]', 'query.unknownField');
    await expect400({ [`filter[${f['Interview score']}][contains]`]: '7' }, `query.filter[${f['Interview score']}][contains]`, 'query.unsupportedFilter');
    await expect400({ [`filter[${f['Interview score']}][gte]`]: 'seven' }, `query.filter[${f['Interview score']}][gte]`);
    await expect400({ [`filter[${f['Role']}][like]`]: 'x' }, `query.filter[${f['Role']}][like]`);
    await expect400({ sort: f['Skills']! }, 'query.sort', 'query.unsupportedSort');
    await expect400({ sort: 'color' }, 'query.sort', 'query.unknownSort');
    await expect400({ updatedSince: '2026-01-01T00:00:00Z', sort: 'title' }, 'query.updatedSince', 'query.syncIsWhole');
    await expect400({ updatedSince: 'yesterday' }, 'query.updatedSince');
    const first = await api('listCards', { params: { pipeId: pipe.id }, query: { sort: 'title', limit: '1' } });
    const other = await api('listCards', { params: { pipeId: pipe.id }, query: { sort: '-title', limit: '1', cursor: first.body.nextCursor } });
    expect(other.status).toBe(400);
    expect(other.body.errors[0].code).toBe('request.invalidCursor');
    const unknownPhase = await api('listCards', { params: { pipeId: pipe.id }, query: { 'filter[phase]': 'ph_01JD0000000000000000000000' } });
    expect([400, 422]).toContain(unknownPhase.status);
  });
});

describe('query budgets at more than 1,000 items', { timeout: 300_000 }, () => {
  const orgId = newOrg('budget');
  const api = client(orgId, 'admin');
  let db: any;

  beforeAll(async () => {
    db = (
      await api('createDatabase', {
        body: {
          name: 'Parts',
          fields: [
            { label: 'Name', type: 'short_text', isTitle: true },
            { label: 'Weight', type: 'number' },
          ],
        },
      })
    ).body;
    const [name, weight] = db.fields.map((x: any) => x.id);
    // Setup through the use case itself (the HTTP path of batches is tested in batch.test.ts):
    // 21 transactions of 50 records, without the per-request deadline of the test context.
    const ctx = contextFor({ orgId, role: 'admin', userId: 'user-admin' });
    for (let b = 0; b * 50 < SORT_BUDGET + 10; b++) {
      const items = Array.from({ length: 50 }, (_, i) => ({ values: { [name]: `Part ${b * 50 + i}`, [weight]: (b * 50 + i) % 97 } }));
      expect((await batchWrite(ctx, 'record', db.id, items)).items).toHaveLength(50);
    }
  }, 600_000);

  it('a filter that drops what it reads returns a partial page with a cursor after READ_BUDGET reads', async () => {
    const weight = db.fields[1].id;
    const first = await api('listRecords', { params: { databaseId: db.id }, query: { [`filter[${weight}][gt]`]: '1000' } });
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api('listRecords', { params: { databaseId: db.id }, query: { [`filter[${weight}][gt]`]: '1000', cursor: first.body.nextCursor } });
    expect(second.body).toEqual({ items: [], nextCursor: null });
    expect(READ_BUDGET).toBeLessThan(SORT_BUDGET + 10);
  });

  it('a field-value sort over more than SORT_BUDGET items is refused with 400 query.tooBroad; narrowed, it is answered', async () => {
    const weight = db.fields[1].id;
    const res = await api('listRecords', { params: { databaseId: db.id }, query: { sort: weight } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ path: 'query.sort', code: 'query.tooBroad' });
    const narrowed = await all(api, 'listRecords', { databaseId: db.id }, { sort: `-${weight}`, 'filter[title][prefix]': 'part 10', limit: '7' });
    expect(narrowed.length).toBe(1 + 10 + 50); // Part 10, Part 100..109, Part 1000..1049
    expect(narrowed.map((r) => r.values[weight])).toEqual(narrowed.map((r) => r.values[weight]).sort((a, b) => b - a));
  });
});

describe('incremental sync (updatedSince) with tombstones', { timeout: 180_000 }, () => {
  it('a mirror kept by updatedSince alone ends equal to the server through creates, updates, moves and deletes', async () => {
    const orgId = newOrg('sync');
    const api = client(orgId, 'admin');
    const pipe = (await api('createPipe', { body: recruitingPipe })).body;
    const f = fieldIds(pipe);
    const person = (name: string) => ({ values: { [f['Candidate name']!]: name, [f['Email']!]: `${name.toLowerCase()}@example.com` } });

    const mirror = new Map<string, any>();
    const gone = new Map<string, number>();
    let since = '1970-01-01T00:00:00.000Z';
    const sync = async () => {
      let cursor: string | undefined;
      let last = '';
      let body: any;
      do {
        const res = await api('listCards', { params: { pipeId: pipe.id }, query: { updatedSince: since, limit: '3', ...(cursor ? { cursor } : {}) } });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        body = res.body;
        for (const card of body.items) {
          // In change order, oldest first, across pages.
          expect(card.updatedAt >= last).toBe(true);
          last = card.updatedAt;
          if ((gone.get(card.id) ?? 0) >= card.version) continue;
          if ((mirror.get(card.id)?.version ?? 0) <= card.version) mirror.set(card.id, card);
        }
        for (const d of body.deleted) {
          gone.set(d.id, d.version);
          mirror.delete(d.id);
        }
        cursor = body.nextCursor ?? undefined;
      } while (cursor);
      expect(body.nextUpdatedSince).toEqual(expect.any(String));
      since = body.nextUpdatedSince;
    };
    const server = async () => new Map((await all(api, 'listCards', { pipeId: pipe.id }, {})).map((c) => [c.id, c]));

    const a = (await api('createCard', { params: { pipeId: pipe.id }, body: person('Ada') })).body;
    const batch = (await api('batchCards', { params: { pipeId: pipe.id }, body: { items: ['Bob', 'Cleo', 'Dan', 'Eve'].map(person) } })).body.items;
    await sync();
    expect(mirror).toEqual(await server());

    await api('updateCard', { params: { cardId: a.id }, body: { values: { [f['Role']!]: 'Engineer' } } });
    await api('moveCard', { params: { cardId: batch[0].id }, body: { phaseId: pipe.phases[1].id } });
    expect((await api('deleteCard', { params: { cardId: batch[1].id } })).status).toBe(204);
    await api('createCard', { params: { pipeId: pipe.id }, body: person('Fay') });
    await sync();
    expect(mirror).toEqual(await server());
    expect(gone.has(batch[1].id)).toBe(true);

    await api('batchCards', { params: { pipeId: pipe.id }, body: { items: [{ id: batch[2].id, values: { [f['Role']!]: 'Sales' } }, person('Gus')] } });
    await api('deleteCard', { params: { cardId: a.id } });
    await api('deleteCard', { params: { cardId: batch[3].id } });
    await api('moveCard', { params: { cardId: batch[0].id }, body: { phaseId: pipe.phases[0].id } });
    await sync();
    expect(mirror).toEqual(await server());
    expect(mirror.size).toBe(4);

    // The tombstone expires by TTL after 30 days.
    const { Item: tombstone } = await documentClient.send(new GetCommand({ TableName: process.env['TABLE_NAME'], Key: keys.tombstone(orgId, a.id) }));
    const ttl = (tombstone!['expiresAt'] as number) - Date.parse(tombstone!['updatedAt'] as string) / 1000;
    expect(Math.round(ttl / 86400)).toBe(30);
    // A sync filtered or sorted is refused: a filtered change log could not show items leaving the filter.
    expect((await api('listCards', { params: { pipeId: pipe.id }, query: { updatedSince: since, [`filter[${f['Role']}]`]: 'Sales' } })).status).toBe(400);
  });

  it("a cascade delete leaves a tombstone for the parent and every child it takes, in each container's sync", async () => {
    const api = client(newOrg('sync-cascade'), 'admin');
    const P = (await api('createPipe', { body: { name: 'Projects' } })).body;
    const K = (await api('createPipe', { body: { name: 'Tasks' } })).body;
    const conn = (
      await api('createConnection', {
        body: { name: 'Tasks', parent: { type: 'pipe', id: P.id }, child: { type: 'pipe', id: K.id }, entries: 'multiple', onParentDelete: 'cascade' },
      })
    ).body;
    const root = (await api('createCard', { params: { pipeId: P.id }, body: { title: 'root' } })).body;
    const kids: string[] = [];
    for (const title of ['k1', 'k2'])
      kids.push((await api('addCardChild', { params: { cardId: root.id }, body: { connectionId: conn.id, create: { title } } })).body.id);
    const keep = (await api('createCard', { params: { pipeId: K.id }, body: { title: 'stays' } })).body;
    const since = root.createdAt;
    expect((await api('deleteCard', { params: { cardId: root.id } })).status).toBe(204);
    expect((await api('deleteCard', { params: { cardId: root.id } })).status).toBe(404);
    const pSync = (await api('listCards', { params: { pipeId: P.id }, query: { updatedSince: since } })).body;
    expect(pSync.items).toEqual([]);
    expect(pSync.deleted).toEqual([{ id: root.id, deletedAt: expect.any(String), version: expect.any(Number) }]);
    const kSync = (await api('listCards', { params: { pipeId: K.id }, query: { updatedSince: since } })).body;
    expect(kSync.items.map((c: any) => c.id)).toEqual([keep.id]);
    expect(kSync.deleted.map((d: any) => d.id).sort()).toEqual([...kids].sort());
  });

  it('records sync the same way, deletions included', async () => {
    const api = client(newOrg('sync-db'), 'admin');
    const db = (await api('createDatabase', { body: { name: 'Customers', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    const name = db.fields[0].id;
    const r1 = (await api('createRecord', { params: { databaseId: db.id }, body: { values: { [name]: 'Initech' } } })).body;
    const r2 = (await api('createRecord', { params: { databaseId: db.id }, body: { values: { [name]: 'Hooli' } } })).body;
    await api('deleteRecord', { params: { recordId: r1.id } });
    const page = await api('listRecords', { params: { databaseId: db.id }, query: { updatedSince: r1.createdAt } });
    expect(page.body.items.map((r: any) => r.id)).toEqual([r2.id]);
    expect(page.body.deleted).toEqual([{ id: r1.id, deletedAt: expect.any(String), version: 1 }]);
    expect(page.body.nextCursor).toBeNull();
    // Plain lists never show tombstones.
    expect((await api('listRecords', { params: { databaseId: db.id }, query: { sort: '-updatedAt' } })).body).toEqual({
      items: [expect.objectContaining({ id: r2.id })],
      nextCursor: null,
    });
  });
});
