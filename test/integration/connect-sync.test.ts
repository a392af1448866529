/**
 * Connecting an existing child applies the parent's synced values in the connect's own
 * transaction (issue 8, item 6): no stream runs in this file, so what a GET shows right after
 * the connect was written by the connect itself.
 */
import { describe, expect, it } from 'vitest';
import { client } from '../support/api';
import { graphCheckedOrgs } from '../support/graph';
import { accountAndTaskPipes as pipes } from '../support/fixtures';
import { snapshotOrg } from '../support/table';

const newOrg = graphCheckedOrgs();

describe('connect an existing child', () => {
  it('gives the child its parent synced values (and title) in the connect itself', async () => {
    const orgId = newOrg('connect-sync');
    const api = client(orgId);
    const p = await pipes(api);
    const connection = (
      await api('createConnection', {
        body: {
          name: 'Tasks',
          parent: { type: 'pipe', id: p.parentPipe.id },
          child: { type: 'pipe', id: p.childPipe.id },
          entries: 'multiple',
          fieldMap: [
            { childFieldId: p.cRegion, parentFieldId: p.pRegion, sync: true },
            { childFieldId: p.cName, parentFieldId: p.pName, sync: true },
          ],
        },
      })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: p.parentPipe.id }, body: { values: { [p.pName]: 'Acme', [p.pRegion]: 'PARENT-VALUE' } } }))
      .body;
    const child = (
      await api('createCard', {
        params: { pipeId: p.childPipe.id },
        body: { values: { [p.cName]: 'Own title', [p.cRegion]: 'CHILD-VALUE', [p.cNote]: 'kept' } },
      })
    ).body;

    const connected = await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, childId: child.id } });
    expect(connected.status).toBe(201);
    expect(connected.body.title).toBe('Acme');

    const read = (await api('getCard', { params: { cardId: child.id } })).body;
    expect(read.values[p.cRegion]).toBe('PARENT-VALUE');
    expect(read.title).toBe('Acme');
    // Fields the connection does not sync stay the child's own.
    expect(read.values[p.cNote]).toBe('kept');
    expect(read.version).toBe(child.version + 1);
    // The parent's copy of the child's summary carries the new title, in the same write.
    const parentRead = (await api('getCard', { params: { cardId: parent.id } })).body;
    const edge = parentRead.children.find((g: any) => g.connectionId === connection.id).items[0];
    expect(edge).toMatchObject({ id: child.id, title: 'Acme' });
    // And the value is the parent's now: the child may not set it.
    const edit = await api('updateCard', { params: { cardId: child.id }, body: { values: { [p.cRegion]: 'x' } } });
    expect(edit.status).toBe(409);
    expect(edit.body.code ?? edit.body.errors?.[0]?.code).toBe('field.syncedFromParent');

    // Creating a child with a value for a synced field is refused at the field's path, as on every route.
    const refused = await api('addCardChild', {
      params: { cardId: parent.id },
      body: { connectionId: connection.id, create: { values: { [p.cRegion]: 'mine' } } },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: `values.${p.cRegion}`, code: 'field.syncedFromParent' })]);

    // The write says which parent version it follows, and that propagation made it.
    const stored = (await snapshotOrg(orgId)).find((i) => i['entity'] === 'Card' && i['id'] === child.id)!;
    expect(stored[`syncVersion:${connection.id}`]).toBe(parent.version);
    expect(stored['changedBy']).toMatchObject({ source: 'propagation', parentId: parent.id, connectionId: connection.id });
  });

  it('removes the child value when the parent has none, and adds no sync write when the child already agrees', async () => {
    const orgId = newOrg('connect-sync-empty');
    const api = client(orgId);
    const p = await pipes(api);
    const connection = (
      await api('createConnection', {
        body: {
          name: 'Tasks',
          parent: { type: 'pipe', id: p.parentPipe.id },
          child: { type: 'pipe', id: p.childPipe.id },
          entries: 'multiple',
          fieldMap: [{ childFieldId: p.cRegion, parentFieldId: p.pRegion, sync: true }],
        },
      })
    ).body;
    const empty = (await api('createCard', { params: { pipeId: p.parentPipe.id }, body: { values: { [p.pName]: 'No region' } } })).body;
    const same = (await api('createCard', { params: { pipeId: p.parentPipe.id }, body: { values: { [p.pName]: 'EU', [p.pRegion]: 'EU' } } })).body;
    const a = (await api('createCard', { params: { pipeId: p.childPipe.id }, body: { values: { [p.cName]: 'a', [p.cRegion]: 'stale' } } })).body;
    const b = (await api('createCard', { params: { pipeId: p.childPipe.id }, body: { values: { [p.cName]: 'b', [p.cRegion]: 'EU' } } })).body;

    expect((await api('addCardChild', { params: { cardId: empty.id }, body: { connectionId: connection.id, childId: a.id } })).status).toBe(201);
    const readA = (await api('getCard', { params: { cardId: a.id } })).body;
    expect(readA.values[p.cRegion]).toBeUndefined();
    expect(readA.title).toBe('a');

    expect((await api('addCardChild', { params: { cardId: same.id }, body: { connectionId: connection.id, childId: b.id } })).status).toBe(201);
    const readB = (await api('getCard', { params: { cardId: b.id } })).body;
    expect(readB.values[p.cRegion]).toBe('EU');
    // The connect moves the version on (as every edge change does), with no sync write in it.
    expect(readB.version).toBe(b.version + 1);
    const storedB = (await snapshotOrg(orgId)).find((i) => i['entity'] === 'Card' && i['id'] === b.id)!;
    expect(storedB[`syncVersion:${connection.id}`]).toBeUndefined();
    expect(storedB['changedBy']).toBeUndefined();
  });

  it('does the same for a record connected to a parent record', async () => {
    const orgId = newOrg('connect-sync-records');
    const api = client(orgId);
    const fields = [
      { label: 'Name', type: 'short_text', isTitle: true },
      { label: 'Country', type: 'short_text' },
    ];
    const companies = (await api('createDatabase', { body: { name: 'Companies', fields } })).body;
    const contacts = (await api('createDatabase', { body: { name: 'Contacts', fields } })).body;
    const [coName, coCountry] = companies.fields.map((f: any) => f.id);
    const [ctName, ctCountry] = contacts.fields.map((f: any) => f.id);
    const connection = (
      await api('createConnection', {
        body: {
          name: 'Contacts',
          parent: { type: 'database', id: companies.id },
          child: { type: 'database', id: contacts.id },
          entries: 'multiple',
          fieldMap: [{ childFieldId: ctCountry, parentFieldId: coCountry, sync: true }],
        },
      })
    ).body;
    const company = (await api('createRecord', { params: { databaseId: companies.id }, body: { values: { [coName]: 'Acme', [coCountry]: 'PARENT-VALUE' } } }))
      .body;
    const contact = (await api('createRecord', { params: { databaseId: contacts.id }, body: { values: { [ctName]: 'Ada', [ctCountry]: 'CHILD-VALUE' } } }))
      .body;
    expect((await api('addRecordChild', { params: { recordId: company.id }, body: { connectionId: connection.id, childId: contact.id } })).status).toBe(201);
    const read = (await api('getRecord', { params: { recordId: contact.id } })).body;
    expect(read.values[ctCountry]).toBe('PARENT-VALUE');
    expect(read.title).toBe('Ada');
  });
});
