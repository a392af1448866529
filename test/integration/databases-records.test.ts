import { beforeAll, describe, expect, it } from 'vitest';
import { client, newOrg } from '../support/api';
import { snapshotOrg } from '../support/table';

describe('databases and records against DynamoDB Local', () => {
  const orgId = newOrg('dbs');
  const api = client(orgId, 'admin');
  let db: any;
  let f: Record<string, string>;

  beforeAll(async () => {
    const res = await api('createDatabase', {
      body: {
        name: 'Suppliers',
        fields: [
          { label: 'Name', type: 'short_text', required: true, isTitle: true },
          { label: 'Contact', type: 'email' },
          { label: 'Country', type: 'single_select', options: ['DE', 'FR', 'US'] },
          { label: 'Phone', type: 'phone' },
        ],
      },
    });
    expect(res.status).toBe(201);
    db = res.body;
    f = Object.fromEntries(db.fields.map((x: any) => [x.label, x.id]));
  });

  it('gets a database with its fields and lists databases', async () => {
    const got = await api('getDatabase', { params: { databaseId: db.id } });
    expect(got.status).toBe(200);
    expect(got.body.fields.map((x: any) => x.type)).toEqual(['short_text', 'email', 'single_select', 'phone']);
    expect(got.body.titleFieldId).toBe(f['Name']);
    const list = await api('listDatabases');
    expect(list.body.items.map((d: any) => d.id)).toEqual([db.id]);
  });

  it('creates, updates, lists and deletes records with the same validation as cards', async () => {
    const acme = await api('createRecord', {
      params: { databaseId: db.id },
      body: { values: { [f['Name']!]: 'Acme GmbH', [f['Country']!]: 'DE', [f['Phone']!]: '+49 30 1234567' } },
    });
    expect(acme.status).toBe(201);
    expect(acme.body).toMatchObject({ title: 'Acme GmbH', databaseId: db.id, version: 1 });
    expect(acme.body.values[f['Phone']!]).toBe('+49301234567');

    const wrong = await api('createRecord', { params: { databaseId: db.id }, body: { values: { [f['Name']!]: 'X', [f['Country']!]: 'Mars' } } });
    expect(wrong.status).toBe(422);
    expect(wrong.body.errors[0]).toMatchObject({ path: `values.${f['Country']}`, code: 'field.notAnOption' });

    const missing = await api('createRecord', { params: { databaseId: db.id }, body: { values: { [f['Country']!]: 'FR' } } });
    expect(missing.status).toBe(422);
    expect(missing.body.errors[0].path).toBe(`values.${f['Name']}`);

    const renamed = await api('updateRecord', { params: { recordId: acme.body.id }, body: { values: { [f['Name']!]: 'Acme AG' } } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.title).toBe('Acme AG');
    const cleared = await api('updateRecord', { params: { recordId: acme.body.id }, body: { values: { [f['Name']!]: null } } });
    expect(cleared.status).toBe(422);

    for (const name of ['Bolt', 'Crux', 'Dyne']) await api('createRecord', { params: { databaseId: db.id }, body: { values: { [f['Name']!]: name } } });
    const first = await api('listRecords', { params: { databaseId: db.id }, query: { limit: '3' } });
    const second = await api('listRecords', { params: { databaseId: db.id }, query: { limit: '3', cursor: first.body.nextCursor } });
    expect([...first.body.items, ...second.body.items].map((r: any) => r.title)).toEqual(['Acme AG', 'Bolt', 'Crux', 'Dyne']);
    expect(second.body.nextCursor).toBeNull();

    const refused = await api('deleteDatabase', { params: { databaseId: db.id } });
    expect(refused.status).toBe(409);
    expect(refused.body.recordCount).toBe(4);

    expect((await api('deleteRecord', { params: { recordId: acme.body.id }, headers: { 'If-Match': '"1"' } })).status).toBe(412);
    expect((await api('deleteRecord', { params: { recordId: acme.body.id }, headers: { 'If-Match': '"2"' } })).status).toBe(204);
    expect((await api('getRecord', { params: { recordId: acme.body.id } })).status).toBe(404);
  });

  it('changes fields and deletes an empty database with everything under it', async () => {
    const tmp = (await api('createDatabase', { body: { name: 'Temp', fields: [{ label: 'Code', type: 'short_text' }] } })).body;
    const added = await api('createDatabaseField', { params: { databaseId: tmp.id }, body: { label: 'Tier', type: 'single_select', options: ['A', 'B'] } });
    expect(added.status).toBe(201);
    const noOptions = await api('updateDatabaseField', { params: { databaseId: tmp.id, fieldId: tmp.fields[0].id }, body: { options: ['x'] } });
    expect(noOptions.status).toBe(422);
    const renamed = await api('updateDatabase', { params: { databaseId: tmp.id }, body: { name: 'Temporary', titleFieldId: tmp.fields[0].id } });
    expect(renamed.body).toMatchObject({ name: 'Temporary', titleFieldId: tmp.fields[0].id, version: 3 });
    expect((await api('deleteDatabaseField', { params: { databaseId: tmp.id, fieldId: tmp.fields[0].id } })).status).toBe(204);
    expect((await api('getDatabase', { params: { databaseId: tmp.id } })).body.titleFieldId).toBeNull();
    expect((await api('deleteDatabase', { params: { databaseId: tmp.id } })).status).toBe(204);
    expect((await snapshotOrg(orgId)).filter((i) => String(i['PK']).includes(tmp.id))).toEqual([]);
  });
});
