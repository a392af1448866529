/**
 * Connects made through a connection field's value (PATCH, create, batch) apply the parent's
 * synced values in the same transaction, as POST …/children does (issue 8, item 6). No stream
 * runs in this file: what a GET shows right after the write was written by the write itself.
 */
import { describe, expect, it } from 'vitest';
import { client } from '../support/api';
import { graphCheckedOrgs } from '../support/graph';
import { accountAndTaskPipes } from '../support/fixtures';
import { snapshotOrg } from '../support/table';

type Api = ReturnType<typeof client>;

const newOrg = graphCheckedOrgs();

async function world(api: Api) {
  const { parentPipe, childPipe, pName, pRegion, cName, cRegion, cNote } = await accountAndTaskPipes(api);
  const connection = (
    await api('createConnection', {
      body: {
        name: 'Tasks',
        parent: { type: 'pipe', id: parentPipe.id },
        child: { type: 'pipe', id: childPipe.id },
        entries: 'multiple',
        fieldMap: [
          { childFieldId: cRegion, parentFieldId: pRegion, sync: true },
          { childFieldId: cName, parentFieldId: pName, sync: true },
        ],
      },
    })
  ).body;
  const field = await api('createPipeField', { params: { pipeId: parentPipe.id }, body: { label: 'Tasks', type: 'connection', connectionId: connection.id } });
  expect(field.status, JSON.stringify(field.body)).toBe(201);
  const child = async (name: string) =>
    (await api('createCard', { params: { pipeId: childPipe.id }, body: { values: { [cName]: name, [cRegion]: 'CHILD-VALUE', [cNote]: 'kept' } } })).body;
  return { parentPipe, childPipe, pName, pRegion, cName, cRegion, cNote, connection, tasks: field.body.id as string, child };
}

async function stored(orgId: string, id: string) {
  return (await snapshotOrg(orgId)).find((i) => i['entity'] === 'Card' && i['id'] === id)!;
}

describe('connects through connection-field values sync the parent values at once', () => {
  it('PATCH of a connection field (add and set), and a PATCH that changes the synced value in the same write', async () => {
    const orgId = newOrg('fanout-connect-patch');
    const api = client(orgId);
    const w = await world(api);
    const parent = (await api('createCard', { params: { pipeId: w.parentPipe.id }, body: { values: { [w.pName]: 'Acme', [w.pRegion]: 'PARENT-VALUE' } } }))
      .body;
    const a = await w.child('a');
    const b = await w.child('b');

    const added = await api('updateCard', { params: { cardId: parent.id }, body: { values: { [w.tasks]: { add: [a.id], remove: [] } } } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const readA = (await api('getCard', { params: { cardId: a.id } })).body;
    expect(readA.values[w.cRegion]).toBe('PARENT-VALUE');
    expect(readA.values[w.cNote]).toBe('kept');
    expect(readA.title).toBe('Acme');
    expect(readA.version).toBe(a.version + 1);
    const storedA = await stored(orgId, a.id);
    expect(storedA[`syncVersion:${w.connection.id}`]).toBe(added.body.version);
    expect(storedA['changedBy']).toMatchObject({ source: 'propagation', parentId: parent.id, connectionId: w.connection.id });
    // The parent's copy of the child's summary carries the synced title, written in the same transaction.
    const header = (await api('getCard', { params: { cardId: parent.id } })).body;
    expect(header.children.find((g: any) => g.connectionId === w.connection.id).items).toEqual([expect.objectContaining({ id: a.id, title: 'Acme' })]);
    // The child now follows its parent: it may not edit the value.
    const edit = await api('updateCard', { params: { cardId: a.id }, body: { values: { [w.cRegion]: 'x' } } });
    expect(edit.status).toBe(409);

    // One PATCH changes the synced value and connects b (a set): b holds the new value, at the new version.
    const both = await api('updateCard', { params: { cardId: parent.id }, body: { values: { [w.pRegion]: 'NEW-VALUE', [w.tasks]: [a.id, b.id] } } });
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    const readB = (await api('getCard', { params: { cardId: b.id } })).body;
    expect(readB.values[w.cRegion]).toBe('NEW-VALUE');
    expect(readB.title).toBe('Acme');
    expect((await stored(orgId, b.id))[`syncVersion:${w.connection.id}`]).toBe(both.body.version);
    // a was connected already: the stream (not running here) carries the new value to it, not this write.
    expect((await api('getCard', { params: { cardId: a.id } })).body.values[w.cRegion]).toBe('PARENT-VALUE');
  });

  it('creating a parent with a connection value, and a batch update that connects', async () => {
    const orgId = newOrg('fanout-connect-create');
    const api = client(orgId);
    const w = await world(api);
    const a = await w.child('a');
    const created = await api('createCard', {
      params: { pipeId: w.parentPipe.id },
      body: { values: { [w.pName]: 'Globex', [w.pRegion]: 'EU', [w.tasks]: [a.id] } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const readA = (await api('getCard', { params: { cardId: a.id } })).body;
    expect(readA.values[w.cRegion]).toBe('EU');
    expect(readA.title).toBe('Globex');
    expect((await stored(orgId, a.id))[`syncVersion:${w.connection.id}`]).toBe(created.body.version);

    const b = await w.child('b');
    const batch = await api('batchCards', {
      params: { pipeId: w.parentPipe.id },
      body: { items: [{ id: created.body.id, values: { [w.tasks]: { add: [b.id], remove: [] } } }] },
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    const readB = (await api('getCard', { params: { cardId: b.id } })).body;
    expect(readB.values[w.cRegion]).toBe('EU');
    expect(readB.title).toBe('Globex');
    expect(readB.values[w.cNote]).toBe('kept');
  });

  it('a child that already holds the values gets the plain connect (no sync write)', async () => {
    const orgId = newOrg('fanout-connect-same');
    const api = client(orgId);
    const w = await world(api);
    const parent = (await api('createCard', { params: { pipeId: w.parentPipe.id }, body: { values: { [w.pName]: 'same', [w.pRegion]: 'CHILD-VALUE' } } })).body;
    const a = await w.child('same');
    expect((await api('updateCard', { params: { cardId: parent.id }, body: { values: { [w.tasks]: [a.id] } } })).status).toBe(200);
    const storedA = await stored(orgId, a.id);
    expect(storedA['version']).toBe(a.version + 1);
    expect(storedA[`syncVersion:${w.connection.id}`]).toBeUndefined();
    expect(storedA['changedBy']).toBeUndefined();
  });
});
