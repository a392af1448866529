import { describe, expect, it } from 'vitest';
import { client } from '../support/api';
import { fieldIds } from '../support/fixtures';
import { expectGraphValid, graphCheckedOrgs } from '../support/graph';
import { snapshotOrg } from '../support/table';

type Api = ReturnType<typeof client>;

// Every scenario ends with the graph invariants checked on each organization it used.
const trackedOrg = graphCheckedOrgs();

async function hrSetup(api: Api, connection: Record<string, unknown> = {}) {
  const recruiting = (
    await api('createPipe', {
      body: {
        name: 'Recruiting',
        startFormFields: [
          { label: 'Name', type: 'short_text', required: true, isTitle: true },
          { label: 'Email', type: 'email' },
          { label: 'Role', type: 'single_select', options: ['Engineer', 'Designer'] },
          { label: 'Start date', type: 'date' },
        ],
        phases: [{ name: 'Applied' }, { name: 'Offer' }, { name: 'Hired', done: true }],
      },
    })
  ).body;
  const onboarding = (
    await api('createPipe', {
      body: {
        name: 'Employee onboarding',
        startFormFields: [
          { label: 'Employee', type: 'short_text', required: true, isTitle: true },
          { label: 'Email', type: 'email' },
          { label: 'Role', type: 'single_select', options: ['Engineer', 'Designer', 'Sales'] },
          { label: 'Start date', type: 'date' },
          { label: 'Department', type: 'short_text' },
        ],
        phases: [{ name: 'Prepare' }, { name: 'Done', done: true }],
      },
    })
  ).body;
  const r = fieldIds(recruiting);
  const o = fieldIds(onboarding);
  const created = await api('createConnection', {
    body: {
      name: 'Onboarding',
      parent: { type: 'pipe', id: recruiting.id },
      child: { type: 'pipe', id: onboarding.id },
      entries: 'single',
      canConnectExisting: false,
      fieldMap: [
        { childFieldId: o['Employee'], parentFieldId: r['Name'] },
        { childFieldId: o['Email'], parentFieldId: r['Email'], sync: true },
        { childFieldId: o['Role'], parentFieldId: r['Role'] },
        { childFieldId: o['Start date'], parentFieldId: r['Start date'] },
        { childFieldId: o['Department'], value: 'People' },
      ],
      rules: { childRequiredToFinish: true },
      ...connection,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { recruiting, onboarding, r, o, connection: created.body };
}

describe('connections', () => {
  it('HR: a hired candidate creates its onboarding card with the data carried over, once, and cannot finish without it', async () => {
    const api = client(trackedOrg('hr'));
    const { recruiting, r, o, connection } = await hrSetup(api);
    const candidate = (
      await api('createCard', {
        params: { pipeId: recruiting.id },
        body: { values: { [r['Name']!]: 'Ada Lovelace', [r['Email']!]: 'ada@example.com', [r['Role']!]: 'Engineer', [r['Start date']!]: '2027-01-04' } },
      })
    ).body;

    const blocked = await api('moveCard', { params: { cardId: candidate.id }, body: { phaseId: recruiting.phases[2].id } });
    expect(blocked.status).toBe(422);
    expect(blocked.body.code).toBe('card.connectionRulesUnmet');
    expect(blocked.body.errors[0].path).toBe(`connections.${connection.id}`);

    const child = await api('addCardChild', { params: { cardId: candidate.id }, body: { connectionId: connection.id, create: { values: {} } } });
    expect(child.status, JSON.stringify(child.body)).toBe(201);
    expect(child.body.title).toBe('Ada Lovelace');
    expect(child.body.values).toEqual({
      [o['Employee']!]: 'Ada Lovelace',
      [o['Email']!]: 'ada@example.com',
      [o['Role']!]: 'Engineer',
      [o['Start date']!]: '2027-01-04',
      [o['Department']!]: 'People',
    });

    const second = await api('addCardChild', { params: { cardId: candidate.id }, body: { connectionId: connection.id, create: {} } });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('connection.limitReached');

    const header = await api('getCard', { params: { cardId: candidate.id } });
    expect(header.body.children).toEqual([
      {
        connectionId: connection.id,
        count: 1,
        hasMore: false,
        items: [expect.objectContaining({ id: child.body.id, title: 'Ada Lovelace', finished: false, type: 'card' })],
      },
    ]);
    const childHeader = await api('getCard', { params: { cardId: child.body.id } });
    expect(childHeader.body.parents).toEqual([{ connectionId: connection.id, items: [expect.objectContaining({ id: candidate.id, title: 'Ada Lovelace' })] }]);

    // The synced field is read-only on the child, and the answer names the parent.
    const edit = await api('updateCard', { params: { cardId: child.body.id }, body: { values: { [o['Email']!]: 'other@example.com' } } });
    expect(edit.status).toBe(409);
    expect(edit.body.parentId).toBe(candidate.id);
    // Other child fields stay editable.
    expect((await api('updateCard', { params: { cardId: child.body.id }, body: { values: { [o['Department']!]: 'Engineering' } } })).status).toBe(200);

    const hired = await api('moveCard', { params: { cardId: candidate.id }, body: { phaseId: recruiting.phases[2].id } });
    expect(hired.status).toBe(200);
    expect(hired.body.finished).toBe(true);
    // The child's copy of the parent's summary is refreshed by the stream, not by the move (the
    // write path stays flat): test/integration/propagation.test.ts follows it there.
  });

  it('holds a single entry under 20 concurrent attempts: one child, 19 conflicts, no stray writes', async () => {
    const orgId = trackedOrg('race');
    const api = client(orgId);
    const parentPipe = (await api('createPipe', { body: { name: 'Parents' } })).body;
    const childPipe = (await api('createPipe', { body: { name: 'Children' } })).body;
    const connection = (
      await api('createConnection', {
        body: { name: 'Only one', parent: { type: 'pipe', id: parentPipe.id }, child: { type: 'pipe', id: childPipe.id }, entries: 'single' },
      })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: parentPipe.id }, body: { title: 'P' } })).body;
    const kids = [];
    for (let i = 0; i < 20; i++) kids.push((await api('createCard', { params: { pipeId: childPipe.id }, body: { title: `K${i}` } })).body);
    const results = await Promise.all(
      kids.map((k) => api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, childId: k.id } })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const header = (await api('getCard', { params: { cardId: parent.id } })).body;
    expect(header.children[0].count).toBe(1);
    expect(header.children[0].items).toHaveLength(1);
    const items = await snapshotOrg(orgId);
    expect(items.filter((i) => i['entity'] === 'ChildEdge')).toHaveLength(1);
    expect(items.filter((i) => i['entity'] === 'ParentEdge')).toHaveLength(1);
  });

  it('holds a maximum on multiple entries under concurrency, and refuses the same pair twice', async () => {
    const orgId = trackedOrg('max');
    const api = client(orgId);
    const parentPipe = (await api('createPipe', { body: { name: 'Deals' } })).body;
    const childPipe = (await api('createPipe', { body: { name: 'Tasks' } })).body;
    const connection = (
      await api('createConnection', {
        body: { name: 'Up to 3', parent: { type: 'pipe', id: parentPipe.id }, child: { type: 'pipe', id: childPipe.id }, entries: 'multiple', maxChildren: 3 },
      })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: parentPipe.id }, body: { title: 'Deal' } })).body;
    const kids = [];
    for (let i = 0; i < 10; i++) kids.push((await api('createCard', { params: { pipeId: childPipe.id }, body: { title: `T${i}` } })).body);
    const results = await Promise.all(
      kids.map((k) => api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, childId: k.id } })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    const connected = results.findIndex((r) => r.status === 201);
    const again = await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, childId: kids[connected]!.id } });
    expect(again.status).toBe(409);
    expect(again.body.code).toMatch(/alreadyConnected|limitReached/);
    // After a disconnect there is room again.
    expect((await api('removeCardChild', { params: { cardId: parent.id, childId: kids[connected]!.id }, query: { connectionId: connection.id } })).status).toBe(
      204,
    );
    const unconnected = results.findIndex((r) => r.status === 409);
    expect((await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, childId: kids[unconnected]!.id } })).status).toBe(
      201,
    );
    const items = await snapshotOrg(orgId);
    expect(items.filter((i) => i['entity'] === 'ChildEdge')).toHaveLength(3);
    expect(items.filter((i) => i['entity'] === 'ParentEdge')).toHaveLength(3);
    expect(items.find((i) => i['entity'] === 'ChildCount')!['count']).toBe(3);
  });

  it("edges move the parent's version on, and If-Match guards connect, create and disconnect (cards and records)", async () => {
    const orgId = trackedOrg('edge-etag');
    const api = client(orgId);
    const parentPipe = (await api('createPipe', { body: { name: 'Deals' } })).body;
    const childPipe = (await api('createPipe', { body: { name: 'Tasks' } })).body;
    const db = (await api('createDatabase', { body: { name: 'Accounts' } })).body;
    const tasks = (
      await api('createConnection', {
        body: { name: 'Tasks', parent: { type: 'pipe', id: parentPipe.id }, child: { type: 'pipe', id: childPipe.id }, entries: 'multiple' },
      })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: parentPipe.id }, body: { title: 'Deal' } })).body;
    const task = (await api('createCard', { params: { pipeId: childPipe.id }, body: { title: 'Call' } })).body;
    const etag = async () => (await api('getCard', { params: { cardId: parent.id } })).headers['etag']!;
    const stale = { 'if-match': '"999999"' };

    // A stale If-Match refuses every kind of edge change, and writes nothing.
    const before = await snapshotOrg(orgId);
    const refused = [
      await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: tasks.id, childId: task.id }, headers: stale }),
      await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: tasks.id, create: { title: 'New' } }, headers: stale }),
      await api('removeCardChild', { params: { cardId: parent.id, childId: task.id }, query: { connectionId: tasks.id }, headers: stale }),
    ];
    expect(refused.map((r) => r.status)).toEqual([412, 412, 412]);
    expect(refused[0]!.body.currentVersion).toBe(parent.version);
    expect(await snapshotOrg(orgId)).toEqual(before);

    // With the current ETag each change goes through and moves the version (the ETag) on.
    let current = await etag();
    const taskTag = async () => (await api('getCard', { params: { cardId: task.id } })).headers['etag']!;
    const taskBefore = await taskTag();
    expect(
      (await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: tasks.id, childId: task.id }, headers: { 'if-match': current } }))
        .status,
    ).toBe(201);
    expect(await etag()).not.toBe(current);
    // The child's version moves on too: its parents are part of what it shows.
    expect(await taskTag()).toBe(`"${task.version + 1}"`);
    expect(taskBefore).toBe(`"${task.version}"`);
    current = await etag();
    expect(
      (
        await api('addCardChild', {
          params: { cardId: parent.id },
          body: { connectionId: tasks.id, create: { title: 'New' } },
          headers: { 'if-match': current },
        })
      ).status,
    ).toBe(201);
    expect(await etag()).not.toBe(current);
    // The ETag read before the last change no longer disconnects: the edges moved on since.
    const disconnect = (headers: Record<string, string>) =>
      api('removeCardChild', { params: { cardId: parent.id, childId: task.id }, query: { connectionId: tasks.id }, headers });
    expect((await disconnect({ 'if-match': current })).status).toBe(412);
    current = await etag();
    expect((await disconnect({ 'if-match': current })).status).toBe(204);
    expect(await etag()).not.toBe(current);
    expect(await taskTag()).toBe(`"${task.version + 2}"`);
    // The change log sees edge changes: the parent sorts as changed (updatedAt moved on).
    const parentNow = (await api('getCard', { params: { cardId: parent.id } })).body;
    expect(parentNow.updatedAt > parent.updatedAt).toBe(true);
    // Without If-Match edges change as before, still moving the version on.
    current = await etag();
    expect((await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: tasks.id, childId: task.id } })).status).toBe(201);
    expect(await etag()).not.toBe(current);

    // The records variant.
    const records = (
      await api('createConnection', {
        body: { name: 'Subsidiaries', parent: { type: 'database', id: db.id }, child: { type: 'database', id: db.id }, entries: 'multiple' },
      })
    ).body;
    const holding = (await api('createRecord', { params: { databaseId: db.id }, body: { title: 'Holding' } })).body;
    const sub = (await api('createRecord', { params: { databaseId: db.id }, body: { title: 'Sub' } })).body;
    expect(
      (await api('addRecordChild', { params: { recordId: holding.id }, body: { connectionId: records.id, childId: sub.id }, headers: stale })).status,
    ).toBe(412);
    expect(
      (
        await api('addRecordChild', {
          params: { recordId: holding.id },
          body: { connectionId: records.id, childId: sub.id },
          headers: { 'if-match': `"${holding.version}"` },
        })
      ).status,
    ).toBe(201);
    const recordTag = (await api('getRecord', { params: { recordId: holding.id } })).headers['etag']!;
    expect(recordTag).toBe(`"${holding.version + 1}"`);
    const removeSub = (headers: Record<string, string>) =>
      api('removeRecordChild', { params: { recordId: holding.id, childId: sub.id }, query: { connectionId: records.id }, headers });
    expect((await removeSub({ 'if-match': `"${holding.version}"` })).status).toBe(412);
    expect((await removeSub({ 'if-match': recordTag })).status).toBe(204);
  });

  it('refuses ids from elsewhere with a 422 that names them, and a card as its own child', async () => {
    const api = client(trackedOrg('ids'));
    const a = (await api('createPipe', { body: { name: 'A' } })).body;
    const b = (await api('createPipe', { body: { name: 'B' } })).body;
    const c = (await api('createPipe', { body: { name: 'C' } })).body;
    const ab = (
      await api('createConnection', { body: { name: 'A→B', parent: { type: 'pipe', id: a.id }, child: { type: 'pipe', id: b.id }, entries: 'multiple' } })
    ).body;
    const aa = (
      await api('createConnection', { body: { name: 'A→A', parent: { type: 'pipe', id: a.id }, child: { type: 'pipe', id: a.id }, entries: 'multiple' } })
    ).body;
    const cardA = (await api('createCard', { params: { pipeId: a.id }, body: { title: 'a' } })).body;
    const cardC = (await api('createCard', { params: { pipeId: c.id }, body: { title: 'c' } })).body;

    const wrongChild = await api('addCardChild', { params: { cardId: cardA.id }, body: { connectionId: ab.id, childId: cardC.id } });
    expect(wrongChild.status).toBe(422);
    expect(wrongChild.body.errors[0]).toMatchObject({ path: 'body.childId', code: 'connection.wrongChild' });
    expect(wrongChild.body.errors[0].message).toContain(cardC.id);

    const wrongParent = await api('addCardChild', { params: { cardId: cardC.id }, body: { connectionId: ab.id, childId: cardA.id } });
    expect(wrongParent.status).toBe(422);
    const missing = await api('addCardChild', { params: { cardId: cardA.id }, body: { connectionId: ab.id, childId: 'card_01JD0000000000000000000000' } });
    expect(missing.status).toBe(422);
    expect(missing.body.errors[0].path).toBe('body.childId');
    const self = await api('addCardChild', { params: { cardId: cardA.id }, body: { connectionId: aa.id, childId: cardA.id } });
    expect(self.status).toBe(422);
    const otherOrg = client(trackedOrg('elsewhere'));
    expect((await otherOrg('addCardChild', { params: { cardId: cardA.id }, body: { connectionId: ab.id, childId: cardA.id } })).status).toBe(422);
  });

  it('validates field maps: incompatible pairs, unknown fields, a second synced entry on one field, and sync loops', async () => {
    const api = client(trackedOrg('maps'));
    const a = (
      await api('createPipe', {
        body: {
          name: 'A',
          startFormFields: [
            { label: 'Amount', type: 'number' },
            { label: 'Name', type: 'short_text' },
          ],
        },
      })
    ).body;
    const b = (
      await api('createPipe', {
        body: {
          name: 'B',
          startFormFields: [
            { label: 'Due', type: 'date' },
            { label: 'Title', type: 'short_text' },
          ],
        },
      })
    ).body;
    const fa = fieldIds(a);
    const fb = fieldIds(b);
    const bad = await api('createConnection', {
      body: {
        name: 'x',
        parent: { type: 'pipe', id: a.id },
        child: { type: 'pipe', id: b.id },
        entries: 'single',
        fieldMap: [{ childFieldId: fb['Due'], parentFieldId: fa['Amount'] }],
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].message).toContain('Amount → Due');
    const fixedBad = await api('createConnection', {
      body: {
        name: 'x',
        parent: { type: 'pipe', id: a.id },
        child: { type: 'pipe', id: b.id },
        entries: 'single',
        fieldMap: [{ childFieldId: fb['Due'], value: 'tomorrow' }],
      },
    });
    expect(fixedBad.status).toBe(422);
    const synced = await api('createConnection', {
      body: {
        name: 'a→b',
        parent: { type: 'pipe', id: a.id },
        child: { type: 'pipe', id: b.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: fb['Title'], parentFieldId: fa['Name'], sync: true }],
      },
    });
    expect(synced.status).toBe(201);
    const twice = await api('createConnection', {
      body: {
        name: 'again',
        parent: { type: 'pipe', id: a.id },
        child: { type: 'pipe', id: b.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: fb['Title'], parentFieldId: fa['Name'], sync: true }],
      },
    });
    expect(twice.status).toBe(422);
    expect(twice.body.errors[0].code).toBe('connection.fieldAlreadySynced');
    const loop = await api('createConnection', {
      body: {
        name: 'b→a',
        parent: { type: 'pipe', id: b.id },
        child: { type: 'pipe', id: a.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: fa['Name'], parentFieldId: fb['Title'], sync: true }],
      },
    });
    expect(loop.status).toBe(422);
    expect(loop.body.errors[0].code).toBe('connection.syncCycle');
    const listed = await api('listConnections', { query: { pipeId: b.id } });
    expect(listed.body.items.map((c: any) => c.id)).toEqual([synced.body.id]);
    const pipeB = await api('getPipe', { params: { pipeId: b.id } });
    expect(pipeB.body.connections.asChild.map((c: any) => c.id)).toEqual([synced.body.id]);
  });

  it('finds candidates by case-insensitive title prefix, marks the connected ones, filters by finished', async () => {
    const api = client(trackedOrg('search'));
    const purchasing = (await api('createPipe', { body: { name: 'Purchasing' } })).body;
    const suppliers = (
      await api('createDatabase', { body: { name: 'Suppliers', fields: [{ label: 'Name', type: 'short_text', isTitle: true, required: true }] } })
    ).body;
    const nameField = suppliers.fields[0].id;
    const connection = (
      await api('createConnection', {
        body: {
          name: 'Supplier',
          parent: { type: 'pipe', id: purchasing.id },
          child: { type: 'database', id: suppliers.id },
          entries: 'single',
          canCreate: false,
        },
      })
    ).body;
    const ids: Record<string, string> = {};
    for (const name of ['Acme GmbH', 'acme Logistics', 'Ácme Tools', 'Bolt Ltd'])
      ids[name] = (await api('createRecord', { params: { databaseId: suppliers.id }, body: { values: { [nameField]: name } } })).body.id;
    const order = (await api('createCard', { params: { pipeId: purchasing.id }, body: { title: 'Laptops' } })).body;
    await api('addCardChild', { params: { cardId: order.id }, body: { connectionId: connection.id, childId: ids['acme Logistics'] } });

    const found = await api('connectionCandidates', { params: { connectionId: connection.id }, query: { parentId: order.id, q: 'ACME' } });
    expect(found.status).toBe(200);
    expect(found.body.items.map((c: any) => [c.title, c.connected])).toEqual([
      ['Acme GmbH', false],
      ['acme Logistics', true],
      ['Ácme Tools', false],
    ]);
    const paged = await api('connectionCandidates', { params: { connectionId: connection.id }, query: { parentId: order.id, q: 'acme', limit: '2' } });
    expect(paged.body.items).toHaveLength(2);
    const rest = await api('connectionCandidates', {
      params: { connectionId: connection.id },
      query: { parentId: order.id, q: 'acme', limit: '2', cursor: paged.body.nextCursor },
    });
    expect(rest.body.items.map((c: any) => c.title)).toEqual(['Ácme Tools']);
    const createRefused = await api('addCardChild', {
      params: { cardId: order.id },
      body: { connectionId: connection.id, create: { values: { [nameField]: 'New' } } },
    });
    expect(createRefused.status).toBe(422);
  });

  it('a required connection field blocks leaving its phase until an item is connected through it', async () => {
    const api = client(trackedOrg('field'));
    const purchasing = (
      await api('createPipe', { body: { name: 'Purchasing', phases: [{ name: 'Request' }, { name: 'Approval' }, { name: 'Ordered', done: true }] } })
    ).body;
    const suppliers = (await api('createDatabase', { body: { name: 'Suppliers', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    const connection = (
      await api('createConnection', {
        body: { name: 'Supplier', parent: { type: 'pipe', id: purchasing.id }, child: { type: 'database', id: suppliers.id }, entries: 'multiple' },
      })
    ).body;
    const field = await api('createPipeField', {
      params: { pipeId: purchasing.id },
      body: { label: 'Supplier', type: 'connection', connectionId: connection.id, phaseId: purchasing.phases[1].id, required: true },
    });
    expect(field.status, JSON.stringify(field.body)).toBe(201);
    const acme = (await api('createRecord', { params: { databaseId: suppliers.id }, body: { values: { [suppliers.fields[0].id]: 'Acme' } } })).body;
    const bolt = (await api('createRecord', { params: { databaseId: suppliers.id }, body: { values: { [suppliers.fields[0].id]: 'Bolt' } } })).body;
    const order = (await api('createCard', { params: { pipeId: purchasing.id }, body: { title: 'Chairs' } })).body;
    await api('moveCard', { params: { cardId: order.id }, body: { phaseId: purchasing.phases[1].id } });

    const blocked = await api('moveCard', { params: { cardId: order.id }, body: { phaseId: purchasing.phases[2].id } });
    expect(blocked.status).toBe(422);
    expect(blocked.body.errors[0]).toMatchObject({ path: `values.${field.body.id}`, code: 'phase.requiredFieldMissing' });

    const set = await api('updateCard', { params: { cardId: order.id }, body: { values: { [field.body.id]: [acme.id, bolt.id] } } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const removed = await api('updateCard', { params: { cardId: order.id }, body: { values: { [field.body.id]: { add: [], remove: [bolt.id] } } } });
    expect(removed.status).toBe(200);
    const header = (await api('getCard', { params: { cardId: order.id } })).body;
    expect(header.children[0].items.map((i: any) => i.id)).toEqual([acme.id]);
    // Read back, the field's value is the list of connected ids, as it is written.
    expect(header.values[field.body.id]).toEqual([acme.id]);
    expect((await api('getCard', { params: { cardId: set.body.id } })).body.values[field.body.id]).toEqual([acme.id]);
    // Connected through the children route, the id shows in the field too.
    expect((await api('addCardChild', { params: { cardId: order.id }, body: { connectionId: connection.id, childId: bolt.id } })).status).toBe(201);
    expect((await api('getCard', { params: { cardId: order.id } })).body.values[field.body.id].sort()).toEqual([acme.id, bolt.id].sort());
    expect((await api('removeCardChild', { params: { cardId: order.id, childId: bolt.id }, query: { connectionId: connection.id } })).status).toBe(204);
    const badId = await api('updateCard', { params: { cardId: order.id }, body: { values: { [field.body.id]: ['not-an-id'] } } });
    expect(badId.status).toBe(422);
    expect(badId.body.errors[0].path).toBe(`values.${field.body.id}`);
    expect((await api('moveCard', { params: { cardId: order.id }, body: { phaseId: purchasing.phases[2].id } })).status).toBe(200);
    // The record shows its parent card (its copy of the card's phase is the stream's to refresh).
    expect((await api('getRecord', { params: { recordId: acme.id } })).body.parents[0].items[0]).toMatchObject({ id: order.id });
  });

  it('deleting follows the on-parent-delete policy: unlink, block, cascade; deleting a child releases its slot', async () => {
    const orgId = trackedOrg('delete');
    const api = client(orgId);
    const parents = (await api('createPipe', { body: { name: 'Parents' } })).body;
    const kids = (await api('createPipe', { body: { name: 'Kids' } })).body;
    const make = async (policy: string) =>
      (
        await api('createConnection', {
          body: { name: policy, parent: { type: 'pipe', id: parents.id }, child: { type: 'pipe', id: kids.id }, entries: 'single', onParentDelete: policy },
        })
      ).body;
    const unlink = await make('unlink');
    const block = await make('block');
    const cascade = await make('cascade');
    const parent = (await api('createCard', { params: { pipeId: parents.id }, body: { title: 'P' } })).body;
    const k1 = (await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: unlink.id, create: { title: 'unlinked' } } })).body;
    const k2 = (await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: block.id, create: { title: 'blocking' } } })).body;
    const k3 = (await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: cascade.id, create: { title: 'cascaded' } } })).body;

    const refused = await api('deleteCard', { params: { cardId: parent.id } });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('connection.deleteBlocked');

    // Deleting the blocking child removes its edges on both sides and frees the parent's slot.
    expect((await api('deleteCard', { params: { cardId: k2.id } })).status).toBe(204);
    const header = (await api('getCard', { params: { cardId: parent.id } })).body;
    expect(header.children.find((g: any) => g.connectionId === block.id)?.count ?? 0).toBe(0);

    expect((await api('deleteCard', { params: { cardId: parent.id } })).status).toBe(204);
    expect((await api('getCard', { params: { cardId: k3.id } })).status).toBe(404);
    const survivor = await api('getCard', { params: { cardId: k1.id } });
    expect(survivor.status).toBe(200);
    expect(survivor.body.parents).toEqual([]);
    const left = await snapshotOrg(orgId);
    expect(left.filter((i) => ['ChildEdge', 'ParentEdge', 'ChildCount'].includes(i['entity'] as string))).toEqual([]);
  });

  it('a connection that joins items is deleted only with ?cascade=true, which removes its edges', async () => {
    const orgId = trackedOrg('conndel');
    const api = client(orgId);
    const companies = (await api('createDatabase', { body: { name: 'Companies', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    const contacts = (
      await api('createDatabase', {
        body: {
          name: 'Contacts',
          fields: [
            { label: 'Name', type: 'short_text', isTitle: true },
            { label: 'Company', type: 'short_text' },
          ],
        },
      })
    ).body;
    const connection = (
      await api('createConnection', {
        body: {
          name: 'Contacts',
          parent: { type: 'database', id: companies.id },
          child: { type: 'database', id: contacts.id },
          entries: 'multiple',
          fieldMap: [{ childFieldId: contacts.fields[1].id, parentFieldId: companies.fields[0].id, sync: true }],
        },
      })
    ).body;
    const acme = (await api('createRecord', { params: { databaseId: companies.id }, body: { values: { [companies.fields[0].id]: 'Acme' } } })).body;
    const jane = await api('addRecordChild', {
      params: { recordId: acme.id },
      body: { connectionId: connection.id, create: { values: { [contacts.fields[0].id]: 'Jane' } } },
    });
    expect(jane.status, JSON.stringify(jane.body)).toBe(201);
    expect(jane.body.values[contacts.fields[1].id]).toBe('Acme');
    const children = await api('listRecordChildren', { params: { recordId: acme.id }, query: { connectionId: connection.id } });
    expect(children.body.items.map((c: any) => c.title)).toEqual(['Jane']);

    expect((await api('deleteDatabase', { params: { databaseId: contacts.id } })).status).toBe(409);
    const refused = await api('deleteConnection', { params: { connectionId: connection.id } });
    expect(refused.status).toBe(409);
    expect((await api('deleteConnection', { params: { connectionId: connection.id }, query: { cascade: 'true' } })).status).toBe(204);
    expect((await api('getConnection', { params: { connectionId: connection.id } })).status).toBe(404);
    const left = await snapshotOrg(orgId);
    expect(left.filter((i) => /Edge|ChildCount|Connection/.test(String(i['entity'])))).toEqual([]);
    expect((await api('getRecord', { params: { recordId: jane.body.id } })).body.parents).toEqual([]);
  });
});

describe('connections under concurrent changes', () => {
  it('never lets a count go below its edges when a disconnect races the child being deleted', async () => {
    const orgId = trackedOrg('racedel');
    const api = client(orgId);
    const a = (await api('createPipe', { body: { name: 'A' } })).body;
    const b = (await api('createPipe', { body: { name: 'B' } })).body;
    const connection = (
      await api('createConnection', { body: { name: 'A→B', parent: { type: 'pipe', id: a.id }, child: { type: 'pipe', id: b.id }, entries: 'multiple' } })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: a.id }, body: { title: 'P' } })).body;
    for (let i = 0; i < 8; i++) {
      const child = (await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: { title: `c${i}` } } })).body;
      await Promise.all([
        api('removeCardChild', { params: { cardId: parent.id, childId: child.id }, query: { connectionId: connection.id } }),
        api('deleteCard', { params: { cardId: child.id } }),
      ]);
    }
    await expectGraphValid(orgId);
  });

  it('never leaves an edge on a deleted item when a connect races the delete', async () => {
    const orgId = trackedOrg('raceconn');
    const api = client(orgId);
    const a = (await api('createPipe', { body: { name: 'A' } })).body;
    const b = (await api('createPipe', { body: { name: 'B' } })).body;
    const connection = (
      await api('createConnection', { body: { name: 'A→B', parent: { type: 'pipe', id: a.id }, child: { type: 'pipe', id: b.id }, entries: 'multiple' } })
    ).body;
    for (let i = 0; i < 8; i++) {
      const parent = (await api('createCard', { params: { pipeId: a.id }, body: { title: `p${i}` } })).body;
      const child = (await api('createCard', { params: { pipeId: b.id }, body: { title: `c${i}` } })).body;
      const victim = i % 2 ? parent.id : child.id;
      await Promise.all([
        api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, childId: child.id } }),
        api('deleteCard', { params: { cardId: victim } }),
      ]);
    }
    await expectGraphValid(orgId);
  });

  it('refuses a tighter limit that existing children already exceed', async () => {
    const orgId = trackedOrg('narrow');
    const api = client(orgId);
    const a = (await api('createPipe', { body: { name: 'A' } })).body;
    const b = (await api('createPipe', { body: { name: 'B' } })).body;
    const connection = (
      await api('createConnection', { body: { name: 'A→B', parent: { type: 'pipe', id: a.id }, child: { type: 'pipe', id: b.id }, entries: 'multiple' } })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: a.id }, body: { title: 'P' } })).body;
    for (let i = 0; i < 3; i++) await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: { title: `c${i}` } } });
    const single = await api('updateConnection', { params: { connectionId: connection.id }, body: { entries: 'single' } });
    expect(single.status).toBe(409);
    expect(single.body.parentIds).toEqual([parent.id]);
    expect((await api('updateConnection', { params: { connectionId: connection.id }, body: { maxChildren: 2 } })).status).toBe(409);
    expect((await api('updateConnection', { params: { connectionId: connection.id }, body: { maxChildren: 3 } })).status).toBe(200);
    await expectGraphValid(orgId);
  });
});
