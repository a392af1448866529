/**
 * The container-definition cache (domain/pipes/store.ts): two stores over one table stand for two
 * Lambda containers. A values PATCH may be planned on a cached definition up to max age old, but
 * only a fresh definition may refuse it, connection changes and items with parents are planned
 * fresh, and every definition write drops the writer's own entry at once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createCard, moveCard, updateCard } from '../../domain/cards/cards';
import { addChild } from '../../domain/connections/children';
import { batchWrite } from '../../domain/items/batch';
import { createConnection, updateConnection } from '../../domain/connections/connections';
import { createDatabase, createDatabaseField } from '../../domain/databases/databases';
import { createRecord, updateRecord } from '../../domain/databases/records';
import { stampActorOnWrites } from '../../domain/kernel/actor';
import type { UseCaseContext } from '../../domain/kernel/context';
import { createPipe, createPipeField, deletePhase, deletePipeField } from '../../domain/pipes/pipes';
import { createStore, type Store } from '../../domain/store';
import { newOrg } from '../support/api';

const table = () => process.env['TABLE_NAME']!;

/** A store on a client of its own, as a Lambda container has, with the requests it sends. */
function container(definitions: { maxAgeMs?: number; maxEntries?: number; now?: () => number } = {}) {
  const raw = new DynamoDBClient({});
  stampActorOnWrites(raw);
  const calls: Array<{ command: string; input: string }> = [];
  const hooks: { afterResponse?: (command: string, input: string) => Promise<void> | undefined } = {};
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      const call = { command: context.commandName as string, input: JSON.stringify(args.input) };
      calls.push(call);
      const result = await next(args);
      await hooks.afterResponse?.(call.command, call.input);
      return result;
    },
    { step: 'build', name: 'countRequests' },
  );
  const doc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const store = createStore(doc, table(), { definitions });
  return { store, calls, hooks };
}

const as = (store: Store, orgId: string): UseCaseContext => ({ principal: { orgId, role: 'admin', userId: 'user-admin' }, store });

/** Requests by command, e.g. { Query: 1, UpdateItem: 1 }. */
function counted(calls: Array<{ command: string }>) {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.command.replace(/Command$/, '')] = (out[c.command.replace(/Command$/, '')] ?? 0) + 1;
  return out;
}

/** B's PATCH of a plain value: caches the card's pipe in B, as any request of that container would. */
const warm = (store: Store, orgId: string, w: { card: { id: string }; note: string }) =>
  updateCard(as(store, orgId), w.card.id, { values: { [w.note]: 'warm-up' } });

async function pipeWithCard(ctx: UseCaseContext, name = 'Deals') {
  const pipe = await createPipe(ctx, {
    name,
    startFormFields: [
      { label: 'Name', type: 'short_text', isTitle: true },
      { label: 'Note', type: 'short_text' },
    ],
    phases: [{ name: 'Open' }, { name: 'Later' }, { name: 'Won', done: true }],
  });
  const [name$, note] = pipe.startForm.fields.map((f) => f.id) as [string, string];
  const card = await createCard(ctx, pipe.id, { values: { [name$]: 'Acme', [note]: 'first' } });
  return { pipe, name: name$, note, card };
}

describe('container-definition cache', () => {
  it('a warm PATCH is 1 Query + 1 UpdateItem; a cold one reads the definition too', async () => {
    const orgId = newOrg('defcache');
    const b = container();
    const w = await pipeWithCard(as(b.store, orgId));
    const ctx = as(b.store, orgId);

    b.store.containers.forgetDefinitions();
    b.calls.length = 0;
    await updateCard(ctx, w.card.id, { values: { [w.note]: 'cold' } });
    expect(counted(b.calls)).toEqual({ Query: 2, UpdateItem: 1 });

    b.calls.length = 0;
    const warm = await updateCard(ctx, w.card.id, { values: { [w.note]: 'warm' } });
    expect(counted(b.calls)).toEqual({ Query: 1, UpdateItem: 1 });
    expect(b.calls.filter((c) => c.command === 'QueryCommand').every((c) => !c.input.includes(w.pipe.id))).toBe(true);
    expect(warm.values[w.note]).toBe('warm');

    // A move reads fresh (and refreshes the entry): the next PATCH is still warm.
    b.calls.length = 0;
    await moveCard(ctx, w.card.id, w.pipe.phases[1]!.id);
    expect(counted(b.calls).Query).toBe(2);
    b.calls.length = 0;
    await updateCard(ctx, w.card.id, { values: { [w.note]: 'warm again' } });
    expect(counted(b.calls)).toEqual({ Query: 1, UpdateItem: 1 });
  });

  it('a record PATCH is the same: warm 1 Query + 1 UpdateItem, and a field added elsewhere is accepted', async () => {
    const orgId = newOrg('defcache');
    const a = container();
    const b = container();
    const ctx = as(b.store, orgId);
    const db = await createDatabase(ctx, {
      name: 'Customers',
      fields: [
        { label: 'Name', type: 'short_text', isTitle: true },
        { label: 'Plan', type: 'short_text' },
      ],
    });
    const [name, plan] = db.fields.map((f) => f.id) as [string, string];
    const record = await createRecord(ctx, db.id, { values: { [name]: 'Initech', [plan]: 'Free' } });
    b.calls.length = 0;
    await updateRecord(ctx, record.id, { values: { [plan]: 'Pro' } });
    expect(counted(b.calls)).toEqual({ Query: 1, UpdateItem: 1 });

    const seats = await createDatabaseField(as(a.store, orgId), db.id, { label: 'Seats', type: 'number' });
    const updated = await updateRecord(ctx, record.id, { values: { [seats.id]: 12 } });
    expect(updated.values[seats.id]).toBe(12);
  });

  it('a field another container added is accepted: the cached refusal is re-checked fresh (no false 422)', async () => {
    const orgId = newOrg('defcache');
    const a = container();
    const b = container();
    const w = await pipeWithCard(as(a.store, orgId));
    await warm(b.store, orgId, w); // B caches the definition
    const field = await createPipeField(as(a.store, orgId), w.pipe.id, { label: 'Budget', type: 'number' });

    b.calls.length = 0;
    const updated = await updateCard(as(b.store, orgId), w.card.id, { values: { [field.id]: 42 } });
    expect(updated.values[field.id]).toBe(42);
    // The card, the cached plan's refusal, then the definition fresh, then the write.
    expect(counted(b.calls)).toEqual({ Query: 2, UpdateItem: 1 });
    // The fresh read refreshed B's entry: the next PATCH is warm again and knows the field.
    b.calls.length = 0;
    await updateCard(as(b.store, orgId), w.card.id, { values: { [field.id]: 43 } });
    expect(counted(b.calls)).toEqual({ Query: 1, UpdateItem: 1 });
  });

  it('a field another container deleted is accepted within max age (the documented window), refused after it', async () => {
    const orgId = newOrg('defcache');
    // Any start but 0 (lru-cache reads a start time of 0 as "no start").
    let clock = 1_000_000;
    const a = container();
    const b = container({ maxAgeMs: 5_000, now: () => clock });
    const w = await pipeWithCard(as(a.store, orgId));
    await warm(b.store, orgId, w); // cached at 1,000,000
    await deletePipeField(as(a.store, orgId), w.pipe.id, w.note);

    clock = 1_005_000; // exactly max age old: still within it
    const within = await updateCard(as(b.store, orgId), w.card.id, { values: { [w.note]: 'written in the window' } });
    expect(within.values[w.note]).toBe('written in the window');

    clock = 1_005_001;
    await expect(updateCard(as(b.store, orgId), w.card.id, { values: { [w.note]: 'too late' } })).rejects.toMatchObject({ status: 422 });
    // A's own container never sees the window: its write dropped its entry.
    await expect(updateCard(as(a.store, orgId), w.card.id, { values: { [w.note]: 'too late' } })).rejects.toMatchObject({ status: 422 });
  });

  it('a batch of updates uses the cached definition too, re-validates fresh on a refusal, and a batch that creates reads fresh', async () => {
    const orgId = newOrg('defcache');
    const a = container();
    const b = container();
    const ctx = as(b.store, orgId);
    const w = await pipeWithCard(ctx);
    const second = await createCard(ctx, w.pipe.id, { values: { [w.name]: 'Globex' } });
    await warm(b.store, orgId, w);

    b.calls.length = 0;
    await batchWrite(ctx, 'card', w.pipe.id, [
      { id: w.card.id, values: { [w.note]: 'batch 1' } },
      { id: second.id, values: { [w.note]: 'batch 1' } },
    ]);
    // The two items, then one transaction: no definition read.
    expect(counted(b.calls)).toEqual({ Query: 2, TransactWriteItems: 1 });

    const field = await createPipeField(as(a.store, orgId), w.pipe.id, { label: 'Budget', type: 'number' });
    b.calls.length = 0;
    const accepted = await batchWrite(ctx, 'card', w.pipe.id, [
      { id: w.card.id, values: { [field.id]: 1 } },
      { id: second.id, values: { [field.id]: 2 } },
    ]);
    expect(accepted.items.map((c) => c.values[field.id])).toEqual([1, 2]);
    // Refused on the cached copy, accepted on a fresh one: the items are not read twice.
    expect(counted(b.calls)).toEqual({ Query: 3, TransactWriteItems: 1 });

    b.calls.length = 0;
    await batchWrite(ctx, 'card', w.pipe.id, [{ id: w.card.id, values: { [w.note]: 'batch 2' } }, { values: { [w.name]: 'Initech' } }]);
    expect(b.calls.some((c) => c.command === 'QueryCommand' && c.input.includes(`PIPE#${w.pipe.id}"`))).toBe(true);
  });

  it('max age 0 turns the cache off', async () => {
    const orgId = newOrg('defcache');
    const b = container({ maxAgeMs: 0 });
    const w = await pipeWithCard(as(b.store, orgId));
    b.calls.length = 0;
    await updateCard(as(b.store, orgId), w.card.id, { values: { [w.note]: 'x' } });
    await updateCard(as(b.store, orgId), w.card.id, { values: { [w.note]: 'y' } });
    expect(counted(b.calls)).toEqual({ Query: 4, UpdateItem: 2 });
  });

  it('a connection-field change reads the definition fresh: a limit set elsewhere holds', async () => {
    const orgId = newOrg('defcache');
    const a = container();
    const b = container();
    const ctxA = as(a.store, orgId);
    const parent = await pipeWithCard(ctxA, 'Accounts');
    const child = await pipeWithCard(ctxA, 'Tasks');
    const connection = await createConnection(ctxA, {
      name: 'Tasks',
      parent: { type: 'pipe', id: parent.pipe.id },
      child: { type: 'pipe', id: child.pipe.id },
      entries: 'multiple',
    });
    const tasks = await createPipeField(ctxA, parent.pipe.id, { label: 'Tasks', type: 'connection', connectionId: connection.id });
    const second = await createCard(ctxA, child.pipe.id, { values: { [child.name]: 'Second' } });
    await warm(b.store, orgId, parent); // B caches the parent pipe: no limit
    await updateConnection(ctxA, connection.id, { maxChildren: 1 });

    b.calls.length = 0;
    await expect(updateCard(as(b.store, orgId), parent.card.id, { values: { [tasks.id]: [child.card.id, second.id] } })).rejects.toMatchObject({
      status: 409,
      code: 'connection.limitReached',
    });
    // The parent's pipe was read fresh for this request; the limit is the transaction's condition, so nothing was written.
    expect(b.calls.some((c) => c.command === 'QueryCommand' && c.input.includes(`PIPE#${parent.pipe.id}"`))).toBe(true);

    // Within the limit, the change goes through (fresh, one transaction).
    const connected = await updateCard(as(b.store, orgId), parent.card.id, { values: { [tasks.id]: [second.id] } });
    expect(connected.values[tasks.id]).toEqual([second.id]);
  });

  it('an item with a parent is planned fresh: a field synced by a connection made elsewhere is refused at once', async () => {
    const orgId = newOrg('defcache');
    const a = container();
    const b = container();
    const ctxA = as(a.store, orgId);
    const parent = await pipeWithCard(ctxA, 'Accounts');
    const child = await pipeWithCard(ctxA, 'Tasks');
    await warm(b.store, orgId, child); // B caches the child pipe: no incoming connection
    const connection = await createConnection(ctxA, {
      name: 'Tasks',
      parent: { type: 'pipe', id: parent.pipe.id },
      child: { type: 'pipe', id: child.pipe.id },
      entries: 'multiple',
      fieldMap: [{ parentFieldId: parent.note, childFieldId: child.note, sync: true }],
    });
    await addChild(ctxA, 'card', parent.card.id, { connectionId: connection.id, childId: child.card.id });

    await expect(updateCard(as(b.store, orgId), child.card.id, { values: { [child.note]: 'mine' } })).rejects.toMatchObject({
      status: 409,
      code: 'field.syncedFromParent',
    });
  });

  it('in one container a definition write is seen at once (no window)', async () => {
    const orgId = newOrg('defcache');
    const b = container();
    const ctx = as(b.store, orgId);
    const w = await pipeWithCard(ctx);
    await updateCard(ctx, w.card.id, { values: { [w.note]: 'warm' } });
    await deletePipeField(ctx, w.pipe.id, w.note);
    await expect(updateCard(ctx, w.card.id, { values: { [w.note]: 'gone' } })).rejects.toMatchObject({ status: 422 });

    // A connection bumps both ends: both entries are dropped.
    const other = await pipeWithCard(ctx, 'Tasks');
    await warm(b.store, orgId, other);
    expect((await b.store.containers.recentPipe(orgId, other.pipe.id))?.cached).toBe(true);
    const connection = await createConnection(ctx, {
      name: 'Tasks',
      parent: { type: 'pipe', id: w.pipe.id },
      child: { type: 'pipe', id: other.pipe.id },
      entries: 'multiple',
    });
    for (const pipeId of [w.pipe.id, other.pipe.id]) {
      const recent = await b.store.containers.recentPipe(orgId, pipeId);
      expect(recent?.cached).toBe(false);
      expect([...recent!.definition.outgoing, ...recent!.definition.incoming].map((c) => c.id)).toEqual([connection.id]);
    }
  });

  it('a move never uses a cached definition: a phase deleted elsewhere is refused', async () => {
    const orgId = newOrg('defcache');
    const a = container();
    const b = container();
    const w = await pipeWithCard(as(a.store, orgId));
    await warm(b.store, orgId, w);
    const later = w.pipe.phases[1]!.id;
    await deletePhase(as(a.store, orgId), w.pipe.id, later);
    await expect(moveCard(as(b.store, orgId), w.card.id, later)).rejects.toMatchObject({ status: 422 });
  });

  it('entries are scoped by organization: the same container id in another org never hits', async () => {
    const orgA = newOrg('defcache');
    const orgB = newOrg('defcache');
    const b = container();
    const w = await pipeWithCard(as(b.store, orgA));
    const mine = await b.store.containers.recentPipe(orgA, w.pipe.id);
    expect(mine?.cached).toBe(true);
    // The same pipe id, written under the other organization through the store.
    const def = (await b.store.containers.loadPipe(orgA, w.pipe.id))!;
    const c = b.store.containers;
    await c.createAll([
      c.pipeItem(orgB, { ...def.pipe, name: 'Other org' }),
      ...def.phases.map((p) => c.phaseItem(orgB, p)),
      ...def.fields.map((f) => c.fieldItem(orgB, 'pipe', f)),
    ]);
    const theirs = await b.store.containers.recentPipe(orgB, w.pipe.id);
    expect(theirs).toMatchObject({ cached: false, definition: { pipe: { name: 'Other org' } } });
    expect((await b.store.containers.recentPipe(orgB, w.pipe.id))?.definition.pipe.name).toBe('Other org');
    expect((await b.store.containers.recentPipe(orgA, w.pipe.id))?.definition.pipe.name).toBe('Deals');
    // Unknown in a third org: not found, whatever is cached.
    expect(await b.store.containers.recentPipe(newOrg('defcache'), w.pipe.id)).toBeNull();
  });

  it('a fresh read that a write of the same container overtakes is not cached', async () => {
    const orgId = newOrg('defcache');
    const b = container();
    const ctx = as(b.store, orgId);
    const w = await pipeWithCard(ctx);
    b.store.containers.forgetDefinitions();
    // The first read of the pipe gets its answer, then waits until the write below has landed.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    b.hooks.afterResponse = (command, input) => {
      if (held || command !== 'QueryCommand' || !input.includes(`PIPE#${w.pipe.id}"`)) return undefined;
      held = true;
      return gate;
    };
    const reading = b.store.containers.loadPipe(orgId, w.pipe.id);
    await expect.poll(() => held).toBe(true);
    const field = await createPipeField(ctx, w.pipe.id, { label: 'Budget', type: 'number' });
    release();
    expect((await reading)!.fields.map((f) => f.id)).not.toContain(field.id);
    const recent = await b.store.containers.recentPipe(orgId, w.pipe.id);
    expect(recent?.cached).toBe(false);
    expect(recent!.definition.fields.map((f) => f.id)).toContain(field.id);
  });

  it('the cache is bounded: the least recently used definition goes first', async () => {
    const orgId = newOrg('defcache');
    const b = container({ maxEntries: 2 });
    const ctx = as(b.store, orgId);
    const [one, two, three] = [await pipeWithCard(ctx, 'One'), await pipeWithCard(ctx, 'Two'), await pipeWithCard(ctx, 'Three')];
    // Creating each card read its pipe fresh: only the last two are kept.
    expect((await b.store.containers.recentPipe(orgId, two.pipe.id))?.cached).toBe(true);
    expect((await b.store.containers.recentPipe(orgId, three.pipe.id))?.cached).toBe(true);
    expect((await b.store.containers.recentPipe(orgId, one.pipe.id))?.cached).toBe(false);
    // Reading One again pushed out Two, the least recently used.
    expect((await b.store.containers.recentPipe(orgId, two.pipe.id))?.cached).toBe(false);
  });

  it('cached definitions are frozen copies: a caller cannot change what the next request sees', async () => {
    const orgId = newOrg('defcache');
    const b = container();
    const w = await pipeWithCard(as(b.store, orgId));
    const fresh = (await b.store.containers.loadPipe(orgId, w.pipe.id))!;
    fresh.fields.pop();
    const cached = (await b.store.containers.recentPipe(orgId, w.pipe.id))!;
    expect(cached.cached).toBe(true);
    expect(cached.definition.fields).toHaveLength(2);
    expect(Object.isFrozen(cached.definition.fields)).toBe(true);
  });
});
