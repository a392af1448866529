/**
 * The graph checker (domain/connections/invariants.ts) against graphs built through the real handlers:
 * sound after every connection operation, and naming each corruption planted directly in the table.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { summaryOf, type AnyItem } from '../../domain/connections/edges';
import type { Connection, ItemSummary } from '../../domain/connections/model';
import { documentClient } from '../../domain/kernel/client';
import { ConnectionStore, containerPk, itemPk } from '../../domain/connections/store';
import { checkGraph, checkItems, scanOrg } from '../../domain/connections/invariants';
import { strip } from '../../domain/pipes/store';
import { transactWrite } from '../../domain/kernel/dynamo';
import { keys } from '../../domain/kernel/keys';
import { client, newOrg } from '../support/api';
import { expectGraphValid, graphOf, ok } from '../support/graph';

type Api = ReturnType<typeof client>;

const table = () => process.env['TABLE_NAME']!;
const MISSING_CARD = 'card_01JD0000000000000000000000';

/**
 * Deals (parent pipe) → Tasks (child pipe), multiple entries: deal A has t1, t2 connected and
 * one task created from it; deal B has t3.
 */
async function buildGraph(api: Api) {
  const deals = await ok(api('createPipe', { body: { name: 'Deals' } }));
  const tasks = await ok(api('createPipe', { body: { name: 'Tasks' } }));
  const connection: Connection = await ok(
    api('createConnection', {
      body: { name: 'Tasks of a deal', parent: { type: 'pipe', id: deals.id }, child: { type: 'pipe', id: tasks.id }, entries: 'multiple' },
    }),
  );
  const card = async (pipeId: string, title: string) => (await ok(api('createCard', { params: { pipeId }, body: { title } }))).id as string;
  const a = await card(deals.id, 'Deal A');
  const b = await card(deals.id, 'Deal B');
  const t1 = await card(tasks.id, 'T1');
  const t2 = await card(tasks.id, 'T2');
  const t3 = await card(tasks.id, 'T3');
  const connect = (parentId: string, childId: string) =>
    ok(api('addCardChild', { params: { cardId: parentId }, body: { connectionId: connection.id, childId } }));
  await connect(a, t1);
  await connect(a, t2);
  const created = await ok(api('addCardChild', { params: { cardId: a }, body: { connectionId: connection.id, create: { title: 'x' } } }));
  await connect(b, t3);
  return { deals, tasks, connection, a, b, t1, t2, t3, created: created.id as string };
}

/** What the handlers would put in an edge: the item's summary, read from its #META. */
async function summary(orgId: string, cardId: string): Promise<ItemSummary> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: table(), Key: keys.card(orgId, cardId), ConsistentRead: true }));
  expect(Item, `card ${cardId}`).toBeDefined();
  return summaryOf('card', strip<AnyItem>(Item!));
}

/**
 * Plants an edge exactly as the handlers write one (both halves and the count increment) but
 * without their checks: no limit, no existence or container guard.
 */
async function plantEdge(orgId: string, connection: Connection, parent: ItemSummary, child: ItemSummary) {
  const unguarded: Connection = { ...connection, entries: 'multiple' };
  delete unguarded.maxChildren;
  const writes = new ConnectionStore(documentClient, table()).edgeChanges(orgId, unguarded, parent, [child], [], new Date().toISOString());
  await transactWrite(documentClient, writes);
}

const edge = (c: string, p: string, ch: string) => `${c} parent ${p} -> child ${ch}`;

describe('graph invariants', () => {
  it('a graph built through the API is sound, and stays sound through disconnect, deletes and a cascading connection delete', async () => {
    const orgId = newOrg('inv-ok');
    const api = client(orgId);
    const g = await buildGraph(api);
    const report = await expectGraphValid(orgId);
    expect(report.edges).toBe(4);

    // A single-entry connection and a limited one, used up to their limits.
    const single: Connection = await ok(
      api('createConnection', {
        body: { name: 'Owner task', parent: { type: 'pipe', id: g.deals.id }, child: { type: 'pipe', id: g.tasks.id }, entries: 'single' },
      }),
    );
    const limited: Connection = await ok(
      api('createConnection', {
        body: { name: 'Two at most', parent: { type: 'pipe', id: g.deals.id }, child: { type: 'pipe', id: g.tasks.id }, entries: 'multiple', maxChildren: 2 },
      }),
    );
    await ok(api('addCardChild', { params: { cardId: g.a }, body: { connectionId: single.id, childId: g.t3 } }));
    await ok(api('addCardChild', { params: { cardId: g.a }, body: { connectionId: limited.id, childId: g.t1 } }));
    await ok(api('addCardChild', { params: { cardId: g.a }, body: { connectionId: limited.id, create: { title: 'y' } } }));
    expect((await api('addCardChild', { params: { cardId: g.a }, body: { connectionId: limited.id, childId: g.t2 } })).status).toBe(409);
    expect((await api('addCardChild', { params: { cardId: g.a }, body: { connectionId: single.id, childId: g.t2 } })).status).toBe(409);
    expect((await expectGraphValid(orgId)).edges).toBe(7);

    await ok(api('removeCardChild', { params: { cardId: g.a, childId: g.t2 }, query: { connectionId: g.connection.id } }), 204);
    await expectGraphValid(orgId);
    // Deleting a child removes its edges and decrements its parents' counts.
    await ok(api('deleteCard', { params: { cardId: g.t1 } }), 204);
    await expectGraphValid(orgId);
    // Deleting a parent (unlink) removes its children's #PARENT# edges and its counts.
    await ok(api('deleteCard', { params: { cardId: g.b } }), 204);
    await expectGraphValid(orgId);
    // A cascading connection delete removes every edge of the connection and its counts.
    await ok(api('deleteConnection', { params: { connectionId: g.connection.id }, query: { cascade: 'true' } }), 204);
    const after = await expectGraphValid(orgId);
    expect(after.edges).toBe(2);
  });

  it('a scan torn by a write in flight is no violation: what one scan saw broken is confirmed by another', async () => {
    const orgId = newOrg('inv-torn');
    const api = client(orgId);
    const g = await buildGraph(api);
    const before = await scanOrg(documentClient, table(), orgId);
    // The disconnect removes both halves (and lowers the count) in one transaction.
    await ok(api('removeCardChild', { params: { cardId: g.a, childId: g.t1 }, query: { connectionId: g.connection.id } }), 204);
    const after = await scanOrg(documentClient, table(), orgId);
    // A Scan is no snapshot: it read deal A's partition before the transaction and t1's after it.
    const partitionA = itemPk(orgId, 'card', g.a);
    const torn = [...before.filter((i) => i['PK'] === partitionA), ...after.filter((i) => i['PK'] !== partitionA)];
    expect(checkItems(orgId, torn).violations).toEqual([`CHILD# edge ${edge(g.connection.id, g.a, g.t1)} has no #PARENT# twin`]);
    let scans = 0;
    const tearing = {
      send: (command: unknown) => (scans++ === 0 ? Promise.resolve({ Items: torn }) : documentClient.send(command as never)),
    } as unknown as typeof documentClient;

    const report = await checkGraph(tearing, table(), orgId);
    expect(report.violations).toEqual([]);
    expect(scans).toBeGreaterThan(1);
    // A lasting violation is still reported, however many scans confirm it.
    await documentClient.send(new DeleteCommand({ TableName: table(), Key: keys.parentEdge(itemPk(orgId, 'card', g.t2), g.connection.id, g.a) }));
    expect((await checkGraph(documentClient, table(), orgId)).violations).toEqual([`CHILD# edge ${edge(g.connection.id, g.a, g.t2)} has no #PARENT# twin`]);
  });

  it('reports a CHILD# edge whose #PARENT# twin is gone', async () => {
    const orgId = newOrg('inv-twin');
    const g = await buildGraph(client(orgId));
    await documentClient.send(new DeleteCommand({ TableName: table(), Key: keys.parentEdge(itemPk(orgId, 'card', g.t1), g.connection.id, g.a) }));
    expect((await graphOf(orgId)).violations).toEqual([`CHILD# edge ${edge(g.connection.id, g.a, g.t1)} has no #PARENT# twin`]);
  });

  it('reports a #PARENT# edge whose CHILD# twin is gone (and the count that no longer matches)', async () => {
    const orgId = newOrg('inv-twin2');
    const g = await buildGraph(client(orgId));
    await documentClient.send(new DeleteCommand({ TableName: table(), Key: keys.childEdge(itemPk(orgId, 'card', g.b), g.connection.id, g.t3) }));
    expect((await graphOf(orgId)).violations).toEqual(
      [
        `#PARENT# edge ${edge(g.connection.id, g.b, g.t3)} has no CHILD# twin`,
        `count of parent ${g.b} through connection ${g.connection.id} is 1, but it has 0 CHILD# edges`,
      ].sort(),
    );
  });

  it('reports a count that does not match the edges', async () => {
    const orgId = newOrg('inv-count');
    const g = await buildGraph(client(orgId));
    await documentClient.send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.childCount(itemPk(orgId, 'card', g.a), g.connection.id),
        UpdateExpression: 'ADD #c :one',
        ExpressionAttributeNames: { '#c': 'count' },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
    expect((await graphOf(orgId)).violations).toEqual([`count of parent ${g.a} through connection ${g.connection.id} is 4, but it has 3 CHILD# edges`]);
  });

  it('reports an edge pointing at a card that does not exist', async () => {
    const orgId = newOrg('inv-missing');
    const g = await buildGraph(client(orgId));
    const ghost: ItemSummary = { ...(await summary(orgId, g.t3)), id: MISSING_CARD };
    await plantEdge(orgId, g.connection, await summary(orgId, g.b), ghost);
    expect((await graphOf(orgId)).violations).toEqual(
      [
        `CHILD# edge ${edge(g.connection.id, g.b, MISSING_CARD)}: its summary names ${MISSING_CARD}, which is no item of organization ${orgId}`,
        `edge ${edge(g.connection.id, g.b, MISSING_CARD)}: child ${MISSING_CARD} does not exist`,
      ].sort(),
    );
  });

  it('reports a second child on a single-entry connection, and a third on a maximum of two', async () => {
    const orgId = newOrg('inv-single');
    const api = client(orgId);
    const g = await buildGraph(api);
    const single: Connection = await ok(
      api('createConnection', { body: { name: 'One', parent: { type: 'pipe', id: g.deals.id }, child: { type: 'pipe', id: g.tasks.id }, entries: 'single' } }),
    );
    const two: Connection = await ok(
      api('createConnection', {
        body: { name: 'Two', parent: { type: 'pipe', id: g.deals.id }, child: { type: 'pipe', id: g.tasks.id }, entries: 'multiple', maxChildren: 2 },
      }),
    );
    await ok(api('addCardChild', { params: { cardId: g.a }, body: { connectionId: single.id, childId: g.t1 } }));
    await ok(api('addCardChild', { params: { cardId: g.b }, body: { connectionId: two.id, childId: g.t1 } }));
    await ok(api('addCardChild', { params: { cardId: g.b }, body: { connectionId: two.id, childId: g.t2 } }));
    expect((await api('addCardChild', { params: { cardId: g.a }, body: { connectionId: single.id, childId: g.t2 } })).status).toBe(409);
    await expectGraphValid(orgId);

    await plantEdge(orgId, single, await summary(orgId, g.a), await summary(orgId, g.t2));
    await plantEdge(orgId, two, await summary(orgId, g.b), await summary(orgId, g.t3));
    expect((await graphOf(orgId)).violations).toEqual(
      [
        `parent ${g.a} has 2 children through single-entry connection ${single.id} (at most 1)`,
        `parent ${g.b} has 3 children through connection ${two.id} (maxChildren 2)`,
      ].sort(),
    );
  });

  it('reports a summary that names an item of another organization', async () => {
    const orgId = newOrg('inv-org');
    const g = await buildGraph(client(orgId));
    const other = client(newOrg('inv-elsewhere'));
    const otherPipe = await ok(other('createPipe', { body: { name: 'Elsewhere' } }));
    const foreign = (await ok(other('createCard', { params: { pipeId: otherPipe.id }, body: { title: 'Foreign' } }))).id as string;
    await documentClient.send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.childEdge(itemPk(orgId, 'card', g.a), g.connection.id, g.t1),
        UpdateExpression: 'SET summary.id = :id',
        ExpressionAttributeValues: { ':id': foreign },
      }),
    );
    expect((await graphOf(orgId)).violations).toEqual(
      [
        `CHILD# edge ${edge(g.connection.id, g.a, g.t1)}: its summary names ${foreign}, not the child ${g.t1}`,
        `CHILD# edge ${edge(g.connection.id, g.a, g.t1)}: its summary names ${foreign}, which is no item of organization ${orgId}`,
      ].sort(),
    );
  });

  it("reports an edge whose child lives outside the connection's child pipe, and an edge of an unknown connection", async () => {
    const orgId = newOrg('inv-container');
    const api = client(orgId);
    const g = await buildGraph(api);
    const elsewhere = await ok(api('createPipe', { body: { name: 'Elsewhere' } }));
    const stray = (await ok(api('createCard', { params: { pipeId: elsewhere.id }, body: { title: 'Stray' } }))).id as string;
    await plantEdge(orgId, g.connection, await summary(orgId, g.b), await summary(orgId, stray));
    const ghostConnection: Connection = { ...g.connection, id: 'conn_01JD0000000000000000000000' };
    await plantEdge(orgId, ghostConnection, await summary(orgId, g.b), await summary(orgId, g.t1));
    expect((await graphOf(orgId)).violations).toEqual(
      [
        `edge ${edge(g.connection.id, g.b, stray)}: child ${stray} is in pipe ${elsewhere.id}, but connection ${g.connection.id} takes children from pipe ${g.tasks.id}`,
        `edge ${edge(ghostConnection.id, g.b, g.t1)}: connection ${ghostConnection.id} does not exist`,
      ].sort(),
    );
  });

  it('reports a connection definition missing its copy, a copy without a definition, and a copy out of date', async () => {
    const orgId = newOrg('inv-copies');
    const api = client(orgId);
    const g = await buildGraph(api);
    const tasksPk = containerPk(orgId, { type: 'pipe', id: g.tasks.id });
    const dealsPk = containerPk(orgId, { type: 'pipe', id: g.deals.id });
    await documentClient.send(new DeleteCommand({ TableName: table(), Key: keys.connectionIn(tasksPk, g.connection.id) }));
    await documentClient.send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.connectionOut(dealsPk, g.connection.id),
        UpdateExpression: 'SET version = :v',
        ExpressionAttributeValues: { ':v': 7 },
      }),
    );
    const orphan = 'conn_01JD0000000000000000000001';
    await documentClient.send(
      new PutCommand({ TableName: table(), Item: { ...keys.connectionOut(dealsPk, orphan), entity: 'ConnectionOut', orgId, ...g.connection, id: orphan } }),
    );
    expect((await graphOf(orgId)).violations).toEqual(
      [
        `CONNOUT# copy of connection ${g.connection.id} in pipe ${g.deals.id} is at version 7, the definition at 1`,
        `CONNOUT# copy of connection ${orphan} at ${dealsPk} has no definition (no ${keys.connection(orgId, orphan).PK} #META)`,
        `connection ${g.connection.id} has no CONNIN# copy in its child pipe ${g.tasks.id}`,
      ].sort(),
    );
  });
});
