/**
 * A connection field's value is the list of connected ids wherever an item is returned (issue 9):
 * list pages with and without filters, sort and updatedSince, create, PATCH, move and batch
 * answers, for cards and for records, with two connection fields on one pipe.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SHOWN } from '../../domain/items/views';
import { client, newOrg } from '../support/api';

type Api = ReturnType<typeof client>;

const sorted = (ids: string[] | undefined) => [...(ids ?? [])].sort();

describe('connection ids in values on every answer that shows items', { timeout: 180_000 }, () => {
  const api: Api = client(newOrg('conn-values'), 'admin');
  let purchasing: any;
  let suppliers: any;
  let contacts: any;
  let projects: any;
  let supplierField: string;
  let contactField: string;
  let projectSupplierField: string;
  const rec: Record<string, string> = {};
  const since = new Date(Date.now() - 60_000).toISOString();

  beforeAll(async () => {
    purchasing = (
      await api('createPipe', { body: { name: 'Purchasing', phases: [{ name: 'Request' }, { name: 'Approval' }, { name: 'Ordered', done: true }] } })
    ).body;
    suppliers = (await api('createDatabase', { body: { name: 'Suppliers', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    contacts = (await api('createDatabase', { body: { name: 'Contacts', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    projects = (await api('createDatabase', { body: { name: 'Projects', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    const connect = async (name: string, parent: any, child: any) =>
      (await api('createConnection', { body: { name, parent, child: { type: 'database', id: child.id }, entries: 'multiple' } })).body;
    const toSuppliers = await connect('Supplier', { type: 'pipe', id: purchasing.id }, suppliers);
    const toContacts = await connect('Contact', { type: 'pipe', id: purchasing.id }, contacts);
    const projectToSuppliers = await connect('Project supplier', { type: 'database', id: projects.id }, suppliers);
    const field = async (route: 'createPipeField' | 'createDatabaseField', params: Record<string, string>, label: string, connectionId: string) => {
      const res = await api(route, { params, body: { label, type: 'connection', connectionId } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    };
    supplierField = await field('createPipeField', { pipeId: purchasing.id }, 'Supplier', toSuppliers.id);
    contactField = await field('createPipeField', { pipeId: purchasing.id }, 'Contact', toContacts.id);
    projectSupplierField = await field('createDatabaseField', { databaseId: projects.id }, 'Suppliers', projectToSuppliers.id);
    for (const name of ['Acme', 'Bolt', 'Cargo'])
      rec[name] = (await api('createRecord', { params: { databaseId: suppliers.id }, body: { values: { [suppliers.fields[0].id]: name } } })).body.id;
    rec['Dora'] = (await api('createRecord', { params: { databaseId: contacts.id }, body: { values: { [contacts.fields[0].id]: 'Dora' } } })).body.id;
  });

  it('cards: create, PATCH, move and every kind of list page show the connected ids', async () => {
    const created = await api('createCard', {
      params: { pipeId: purchasing.id },
      body: { title: 'Chairs', values: { [supplierField]: [rec['Acme'], rec['Bolt']] } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(sorted(created.body.values[supplierField])).toEqual(sorted([rec['Acme']!, rec['Bolt']!]));
    const card = created.body.id as string;

    const plain = await api('createCard', { params: { pipeId: purchasing.id }, body: { title: 'Desks' } });
    expect(plain.body.values).toEqual({});

    // PATCH adding a contact: both fields show, the untouched one too.
    const patched = await api('updateCard', { params: { cardId: card }, body: { values: { [contactField]: { add: [rec['Dora']] } } } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.values[contactField]).toEqual([rec['Dora']]);
    expect(sorted(patched.body.values[supplierField])).toEqual(sorted([rec['Acme']!, rec['Bolt']!]));
    // A PATCH of the title alone still shows them.
    const retitled = await api('updateCard', { params: { cardId: card }, body: { title: 'Chairs (12)' } });
    expect(sorted(retitled.body.values[supplierField])).toEqual(sorted([rec['Acme']!, rec['Bolt']!]));

    // Connected through the children route, the id shows on the next answers.
    expect(
      (
        await api('addCardChild', {
          params: { cardId: card },
          body: { connectionId: await connectionOf(api, purchasing.id, 'Supplier'), childId: rec['Cargo'] },
        })
      ).status,
    ).toBe(201);
    const moved = await api('moveCard', { params: { cardId: card }, body: { phaseId: purchasing.phases[1].id } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(sorted(moved.body.values[supplierField])).toEqual(sorted([rec['Acme']!, rec['Bolt']!, rec['Cargo']!]));
    expect(moved.body.values[contactField]).toEqual([rec['Dora']]);

    const expectOnPage = (items: any[]) => {
      const found = items.find((i) => i.id === card);
      expect(found, 'the card is on the page').toBeDefined();
      expect(sorted(found.values[supplierField])).toEqual(sorted([rec['Acme']!, rec['Bolt']!, rec['Cargo']!]));
      expect(found.values[contactField]).toEqual([rec['Dora']]);
      expect(items.find((i) => i.id === plain.body.id)?.values ?? {}).toEqual({});
    };
    for (const query of <Array<Record<string, string>>>[
      {},
      { phaseId: purchasing.phases[1].id },
      { 'filter[title][prefix]': 'chairs' },
      { sort: '-updatedAt' },
      { updatedSince: since },
      { 'filter[finished]': 'false', sort: 'title' },
    ]) {
      const page = await api('listCards', { params: { pipeId: purchasing.id }, query });
      expect(page.status, `${JSON.stringify(query)}: ${JSON.stringify(page.body)}`).toBe(200);
      expectOnPage(page.body.items);
    }

    // Disconnecting the last contact drops the field from values again.
    const contactConnection = await connectionOf(api, purchasing.id, 'Contact');
    expect((await api('removeCardChild', { params: { cardId: card, childId: rec['Dora']! }, query: { connectionId: contactConnection } })).status).toBe(204);
    const after = (await api('listCards', { params: { pipeId: purchasing.id }, query: { 'filter[title][prefix]': 'chairs' } })).body.items[0];
    expect(after.values[contactField]).toBeUndefined();
    expect(after.values[supplierField]).toHaveLength(3);
  });

  it('batch create and update answers show the connected ids', async () => {
    const res = await api('batchCards', {
      params: { pipeId: purchasing.id },
      body: { items: [{ title: 'Lamps', values: { [supplierField]: [rec['Cargo']] } }, { title: 'Pens' }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items[0].values[supplierField]).toEqual([rec['Cargo']]);
    expect(res.body.items[1].values).toEqual({});
    const updated = await api('batchCards', {
      params: { pipeId: purchasing.id },
      body: {
        items: [
          { id: res.body.items[0].id, title: 'Lamps (4)' },
          { id: res.body.items[1].id, values: { [supplierField]: { add: [rec['Acme']] } } },
        ],
      },
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.items[0].values[supplierField]).toEqual([rec['Cargo']]);
    expect(updated.body.items[1].values[supplierField]).toEqual([rec['Acme']]);
  });

  it('records: create, PATCH, batch and list pages show the connected ids', async () => {
    const created = await api('createRecord', {
      params: { databaseId: projects.id },
      body: { values: { [projects.fields[0].id]: 'Roof', [projectSupplierField]: [rec['Bolt']] } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.values[projectSupplierField]).toEqual([rec['Bolt']]);
    const patched = await api('updateRecord', { params: { recordId: created.body.id }, body: { values: { [projectSupplierField]: { add: [rec['Acme']] } } } });
    expect(sorted(patched.body.values[projectSupplierField])).toEqual(sorted([rec['Acme']!, rec['Bolt']!]));
    const batch = await api('batchRecords', {
      params: { databaseId: projects.id },
      body: { items: [{ values: { [projects.fields[0].id]: 'Wall', [projectSupplierField]: [rec['Cargo']] } }] },
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(batch.body.items[0].values[projectSupplierField]).toEqual([rec['Cargo']]);
    for (const query of <Array<Record<string, string>>>[
      {},
      { [`filter[${projects.fields[0].id}]`]: 'Roof' },
      { sort: '-updatedAt' },
      { updatedSince: since },
    ]) {
      const page = await api('listRecords', { params: { databaseId: projects.id }, query });
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      const roof = page.body.items.find((i: any) => i.id === created.body.id);
      expect(sorted(roof.values[projectSupplierField]), JSON.stringify(query)).toEqual(sorted([rec['Acme']!, rec['Bolt']!]));
    }
    // A supplier's own page has no connection field: nothing to show, nothing read.
    const supplierPage = await api('listRecords', { params: { databaseId: suppliers.id } });
    expect(supplierPage.body.items.every((i: any) => Object.keys(i.values).length === 1)).toBe(true);
  });

  it(`a value shows the first ${SHOWN} ids and names the field in valuesTruncated when more are connected`, async () => {
    const many: string[] = [];
    for (let b = 0; b < 3; b++) {
      const res = await api('batchRecords', {
        params: { databaseId: suppliers.id },
        body: { items: Array.from({ length: 34 }, (_, i) => ({ values: { [suppliers.fields[0].id]: `S${b}-${i}` } })) },
      });
      many.push(...res.body.items.map((i: any) => i.id));
    }
    // One request connects at most about 30 (a transaction holds 100 writes): add them in steps.
    const card = (await api('createCard', { params: { pipeId: purchasing.id }, body: { title: 'Bulk', values: { [supplierField]: many.slice(0, 30) } } })).body;
    let last: any;
    for (const [from, to] of [
      [30, 60],
      [60, 90],
      [90, SHOWN],
    ] as const) {
      last = await api('updateCard', { params: { cardId: card.id }, body: { values: { [supplierField]: { add: many.slice(from, to) } } } });
      expect(last.status, JSON.stringify(last.body)).toBe(200);
    }
    expect(last.body.values[supplierField]).toHaveLength(SHOWN);
    expect(last.body.valuesTruncated).toBeUndefined();
    const connection = await connectionOf(api, purchasing.id, 'Supplier');
    expect((await api('addCardChild', { params: { cardId: card.id }, body: { connectionId: connection, childId: many[SHOWN] } })).status).toBe(201);
    const page = (await api('listCards', { params: { pipeId: purchasing.id }, query: { 'filter[title][prefix]': 'bulk' } })).body.items[0];
    expect(page.values[supplierField]).toHaveLength(SHOWN);
    expect(page.valuesTruncated).toEqual([supplierField]);
    const got = (await api('getCard', { params: { cardId: card.id } })).body;
    expect(got.values[supplierField]).toHaveLength(SHOWN);
    expect(got.valuesTruncated).toEqual([supplierField]);
  });
});

async function connectionOf(api: Api, pipeId: string, name: string): Promise<string> {
  const pipe = (await api('getPipe', { params: { pipeId } })).body;
  return pipe.connections.asParent.find((c: any) => c.name === name).id;
}
