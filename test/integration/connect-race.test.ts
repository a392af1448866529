/**
 * A connect of an existing child writes, into the parent's new child edge, the child's summary as
 * the connect read it. A change of the child between that read and the connect's transaction
 * would leave the edge stale: the child's own stream record of the change may run before the edge
 * exists, and a child that had no parent yet skips the parents Query altogether (PARENT_LINKS).
 * So the connect guards the child's version it read: it reads again (POST …/children) or answers
 * 409 (a connection-field value). The change is interleaved here by a store whose read of the
 * child makes the edit right after reading it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UseCaseContext } from '../../domain/kernel/context';
import type { Store } from '../../domain/store';
import { client } from '../support/api';
import { accountAndTaskPipes } from '../support/fixtures';
import { graphCheckedOrgs } from '../support/graph';
import { snapshotOrg } from '../support/table';
import { startStreamHarness, type StreamHarness } from '../support/stream';

let stream: StreamHarness;
let base: Store;
let contextFor: (principal: UseCaseContext['principal']) => UseCaseContext;
beforeAll(async () => {
  stream = await startStreamHarness();
  // The handlers' store reads the table name the harness sets.
  ({ store: base, contextFor } = await import('../../functions/shared/store'));
});
afterAll(async () => {
  await stream?.stop();
});

const newOrg = graphCheckedOrgs();
type Api = ReturnType<typeof client>;

/** The store, but each of the first `times` reads of `childId` is followed by `edit()` before the caller sees it. */
function racing(childId: string, times: number, edit: (n: number) => Promise<void>): Store {
  let made = 0;
  const items = Object.create(base.items) as Store['items'];
  items.get = (async (orgId: string, kind: never, id: string) => {
    const read = await base.items.get(orgId, kind, id);
    if (id === childId && made < times) await edit(++made);
    return read;
  }) as Store['items']['get'];
  return { ...base, items };
}

async function world(api: Api) {
  const p = await accountAndTaskPipes(api);
  const connection = (
    await api('createConnection', {
      body: { name: 'Tasks', parent: { type: 'pipe', id: p.parentPipe.id }, child: { type: 'pipe', id: p.childPipe.id }, entries: 'multiple' },
    })
  ).body;
  const field = await api('createPipeField', {
    params: { pipeId: p.parentPipe.id },
    body: { label: 'Tasks', type: 'connection', connectionId: connection.id },
  });
  expect(field.status, JSON.stringify(field.body)).toBe(201);
  const parent = (await api('createCard', { params: { pipeId: p.parentPipe.id }, body: { values: { [p.pName]: 'Acme' } } })).body;
  const child = (await api('createCard', { params: { pipeId: p.childPipe.id }, body: { values: { [p.cName]: 'Before' } } })).body;
  const rename = (title: string) => async () => {
    const edited = await api('updateCard', { params: { cardId: child.id }, body: { values: { [p.cName]: title } } });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
  };
  return { ...p, connection, tasks: field.body.id as string, parent, child, rename };
}

/** The summary the parent's child edge holds of the child (undefined: not connected). */
async function edgeSummary(api: Api, parentId: string, connectionId: string, childId: string) {
  const header = (await api('getCard', { params: { cardId: parentId } })).body;
  return header.children.find((g: any) => g.connectionId === connectionId)?.items.find((i: any) => i.id === childId);
}

describe('connecting an existing child that changes meanwhile', () => {
  it('POST …/children reads the child again: the parent holds its summary after the change', async () => {
    const orgId = newOrg('connect-race-post');
    const api = client(orgId);
    const w = await world(api);
    const ctx = { ...contextFor({ orgId, role: 'admin', userId: 'user-admin' }), store: racing(w.child.id, 1, w.rename('After')) };
    const { addChild } = await import('../../domain/connections/children');

    const result = await addChild(ctx, 'card', w.parent.id, { connectionId: w.connection.id, childId: w.child.id });
    expect(result.kind).toBe('connected');
    expect(await edgeSummary(api, w.parent.id, w.connection.id, w.child.id)).toMatchObject({ title: 'After' });
    // The child's own records change nothing of that (and nothing left for them to repair).
    await stream.poller.drain();
    expect(await edgeSummary(api, w.parent.id, w.connection.id, w.child.id)).toMatchObject({ title: 'After' });
    const child = (await api('getCard', { params: { cardId: w.child.id } })).body;
    expect(child.title).toBe('After');
    // Created, renamed, connected: one version each.
    expect(child.version).toBe(w.child.version + 2);
  });

  it('a child that keeps changing: 409 after a few reads, nothing connected', async () => {
    const orgId = newOrg('connect-race-busy');
    const api = client(orgId);
    const w = await world(api);
    const ctx = { ...contextFor({ orgId, role: 'admin', userId: 'user-admin' }), store: racing(w.child.id, 10, (n) => w.rename(`Edit ${n}`)()) };
    const { addChild } = await import('../../domain/connections/children');

    const refused = await addChild(ctx, 'card', w.parent.id, { connectionId: w.connection.id, childId: w.child.id }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 409, code: 'resource.concurrentChange' });
    expect((refused as Error).message).toContain(w.child.id);
    expect(await edgeSummary(api, w.parent.id, w.connection.id, w.child.id)).toBeUndefined();
    const edges = (await snapshotOrg(orgId)).filter((i) => i['entity'] === 'ChildEdge' || i['entity'] === 'ParentEdge');
    expect(edges).toEqual([]);
  });

  it('a connection-field value answers 409 naming the child, writes nothing, and a retry holds the new summary', async () => {
    const orgId = newOrg('connect-race-field');
    const api = client(orgId);
    const w = await world(api);
    const ctx = { ...contextFor({ orgId, role: 'admin', userId: 'user-admin' }), store: racing(w.child.id, 1, w.rename('After')) };
    const { updateCard } = await import('../../domain/cards/cards');
    const change = { values: { [w.tasks]: { add: [w.child.id], remove: [] } } };

    const refused = await updateCard(ctx, w.parent.id, change).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 409, code: 'resource.concurrentChange' });
    expect((refused as Error).message).toContain(w.child.id);
    expect(await edgeSummary(api, w.parent.id, w.connection.id, w.child.id)).toBeUndefined();
    expect((await api('getCard', { params: { cardId: w.parent.id } })).body.version).toBe(w.parent.version);

    const retried = await updateCard(ctx, w.parent.id, change);
    expect(retried.version).toBe(w.parent.version + 1);
    expect(await edgeSummary(api, w.parent.id, w.connection.id, w.child.id)).toMatchObject({ title: 'After' });
    await stream.poller.drain();
    expect(await edgeSummary(api, w.parent.id, w.connection.id, w.child.id)).toMatchObject({ title: 'After' });
  });
});

/** The store, but each of the first `times` write-path reads of `parentId` is followed by `edit()` before the caller sees it. */
function racingParent(parentId: string, times: number, edit: (n: number) => Promise<void>): Store {
  let made = 0;
  const items = Object.create(base.items) as Store['items'];
  items.getCore = (async (orgId: string, kind: never, id: string, ...rest: never[]) => {
    const read = await (base.items.getCore as (...args: unknown[]) => Promise<unknown>)(orgId, kind, id, ...rest);
    if (id === parentId && made < times) await edit(++made);
    return read;
  }) as Store['items']['getCore'];
  return { ...base, items };
}

describe('connecting an existing child to a parent that changes meanwhile (synced fields)', () => {
  async function syncedWorld(api: Api) {
    const p = await accountAndTaskPipes(api);
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
    const parent = (await api('createCard', { params: { pipeId: p.parentPipe.id }, body: { values: { [p.pName]: 'Acme', [p.pRegion]: 'EU' } } })).body;
    const child = async (name: string) =>
      (await api('createCard', { params: { pipeId: p.childPipe.id }, body: { values: { [p.cName]: name, [p.cRegion]: 'OWN' } } })).body;
    const connect = (childId: string) => api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, childId } });
    return { ...p, connection, parent, child, connect };
  }

  it('other children connected to the same parent meanwhile do not refuse the connect', async () => {
    const orgId = newOrg('connect-race-siblings');
    const api = client(orgId);
    const w = await syncedWorld(api);
    const target = await w.child('target');
    const siblings = [await w.child('s1'), await w.child('s2'), await w.child('s3'), await w.child('s4')];
    // Every read of the parent is followed by another child's connect: its version moves on, its values do not.
    const ctx = {
      ...contextFor({ orgId, role: 'admin', userId: 'user-admin' }),
      store: racingParent(w.parent.id, siblings.length, async (n) => {
        const other = await w.connect(siblings[n - 1]!.id);
        expect(other.status, JSON.stringify(other.body)).toBe(201);
      }),
    };
    const { addChild } = await import('../../domain/connections/children');

    const result = await addChild(ctx, 'card', w.parent.id, { connectionId: w.connection.id, childId: target.id });
    expect(result.kind).toBe('connected');
    const read = (await api('getCard', { params: { cardId: target.id } })).body;
    expect(read.values[w.cRegion]).toBe('EU');
    expect(read.parents.flatMap((g: any) => g.items.map((i: any) => i.id))).toEqual([w.parent.id]);
    const header = (await api('getCard', { params: { cardId: w.parent.id } })).body;
    expect(header.children.find((g: any) => g.connectionId === w.connection.id).items).toHaveLength(2);
  });

  it('a synced value changed meanwhile is read again: the child holds the new value, never the one first read', async () => {
    const orgId = newOrg('connect-race-value');
    const api = client(orgId);
    const w = await syncedWorld(api);
    const target = await w.child('target');
    const ctx = {
      ...contextFor({ orgId, role: 'admin', userId: 'user-admin' }),
      store: racingParent(w.parent.id, 1, async () => {
        const edited = await api('updateCard', { params: { cardId: w.parent.id }, body: { values: { [w.pRegion]: 'US' } } });
        expect(edited.status, JSON.stringify(edited.body)).toBe(200);
      }),
    };
    const { addChild } = await import('../../domain/connections/children');

    await addChild(ctx, 'card', w.parent.id, { connectionId: w.connection.id, childId: target.id });
    expect((await api('getCard', { params: { cardId: target.id } })).body.values[w.cRegion]).toBe('US');
    await stream.poller.drain();
    expect((await api('getCard', { params: { cardId: target.id } })).body.values[w.cRegion]).toBe('US');
  });

  it('a synced value that keeps changing: 409 naming the parent, nothing connected', async () => {
    const orgId = newOrg('connect-race-value-busy');
    const api = client(orgId);
    const w = await syncedWorld(api);
    const target = await w.child('target');
    const ctx = {
      ...contextFor({ orgId, role: 'admin', userId: 'user-admin' }),
      store: racingParent(w.parent.id, 10, async (n) => {
        const edited = await api('updateCard', { params: { cardId: w.parent.id }, body: { values: { [w.pRegion]: `R${n}` } } });
        expect(edited.status, JSON.stringify(edited.body)).toBe(200);
      }),
    };
    const { addChild } = await import('../../domain/connections/children');

    const refused = await addChild(ctx, 'card', w.parent.id, { connectionId: w.connection.id, childId: target.id }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 409, code: 'resource.concurrentChange' });
    expect((refused as Error).message).toContain(w.parent.id);
    expect(await edgeSummary(api, w.parent.id, w.connection.id, target.id)).toBeUndefined();
    expect((await api('getCard', { params: { cardId: target.id } })).body.values[w.cRegion]).toBe('OWN');
  });
});

describe('connecting a child that another parent connects meanwhile', () => {
  it('its connect moves the version on but changes nothing the new edge holds: the connect goes through at once', async () => {
    const orgId = newOrg('connect-race-coparent');
    const api = client(orgId);
    const w = await world(api);
    const other = (await api('createCard', { params: { pipeId: w.parentPipe.id }, body: { values: { [w.pName]: 'Other' } } })).body.id as string;
    // The (only) read of the child is followed by the other parent's connect of it; a second read would find nothing more to race.
    let reads = 0;
    const ctx = {
      ...contextFor({ orgId, role: 'admin', userId: 'user-admin' }),
      store: racing(w.child.id, 1_000, async (n) => {
        reads = n;
        if (n > 1) return;
        const connected = await api('addCardChild', { params: { cardId: other }, body: { connectionId: w.connection.id, childId: w.child.id } });
        expect(connected.status, JSON.stringify(connected.body)).toBe(201);
      }),
    };
    const { addChild } = await import('../../domain/connections/children');

    const result = await addChild(ctx, 'card', w.parent.id, { connectionId: w.connection.id, childId: w.child.id });
    expect(result.kind).toBe('connected');
    expect(reads).toBe(1);
    expect(await edgeSummary(api, w.parent.id, w.connection.id, w.child.id)).toMatchObject({ title: 'Before' });
    const child = (await api('getCard', { params: { cardId: w.child.id } })).body;
    expect(child.parents.flatMap((g: any) => g.items.map((i: any) => i.id)).sort()).toEqual([w.parent.id, other].sort());
    // Created, connected twice: one version each.
    expect(child.version).toBe(w.child.version + 2);
    await stream.poller.drain();
    expect(await edgeSummary(api, w.parent.id, w.connection.id, w.child.id)).toMatchObject({ title: 'Before' });
  });
});
