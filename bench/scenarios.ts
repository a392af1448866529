/**
 * One scenario per API operation. Each gets its own organization; `setup` builds what it needs
 * through the API (not measured), `prepare` makes per-iteration input (not measured, e.g. a fresh
 * card to move or delete), `run` makes exactly one API call (measured), and `minimum` states
 * what the design allows for that call, with sizes read from the table after the metered run.
 *
 * Adding a row: append a scenario to `scenarios` below.
 */
import type { RouteId } from '../functions/api/routes';
import { normalizeTitle } from '../domain/fields/field-types';
import { HEADER_PAGE } from '../domain/items/store';
import { gsi1, gsi2, keys } from '../domain/kernel/keys';
import { fieldIds, recruitingPipe } from '../test/support/fixtures';
import { conditionCheckUnits, readUnits, writeUnits } from './capacity';

export interface ApiResponse<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

export interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Calls a route as the scenario's organization (admin); throws unless it answers its success status. */
export type Api = <T = any>(routeId: RouteId, options?: CallOptions) => Promise<ApiResponse<T>>;

export interface TableKey {
  PK: string;
  SK: string;
}

/** Uncounted size lookups (raw client, strongly consistent where the table allows). */
export interface Sizer {
  item(key: TableKey): Promise<number>;
  /** The whole partition: total bytes, item count and each item's size. */
  partition(pk: string): Promise<{ bytes: number; items: number; perItem: number[] }>;
  /** One page of a GSI partition (optionally of the sort keys that begin with `prefix`). */
  index(indexName: string, pk: string, limit?: number, prefix?: string): Promise<{ bytes: number; items: number }>;
}

export interface BenchContext {
  orgId: string;
  api: Api;
  size: Sizer;
  /** Empties the handlers' container-definition cache: the next request is a container's first (cold). */
  forgetDefinitions(): Promise<void>;
}

export interface Minimum {
  /** Requests by command name (as the SDK names them, without "Command"). */
  requests: Record<string, number>;
  rcu: number;
  wcu: number;
  /** Items in the TransactWriteItems (all of them, when there are several), if the design counts them. */
  txItems?: number;
  /** One line: why this is the least the design can do. */
  note: string;
}

export interface Scenario<S = any, I = any> {
  name: string;
  route: RouteId;
  /**
   * Scenarios with the same key share one organization and one setup (run by the first of them;
   * give them the same `setup`): for fixtures too costly to build twice.
   */
  shared?: string;
  setup(ctx: BenchContext): Promise<S>;
  prepare?(ctx: BenchContext, state: S, iteration: number): Promise<I>;
  run(ctx: BenchContext, state: S, input: I, iteration: number): Promise<ApiResponse>;
  minimum(ctx: BenchContext, m: { state: S; input: I; result: ApiResponse }): Promise<Minimum>;
}

export const scenario = <S, I = undefined>(s: Scenario<S, I>) => s as Scenario;

// ---------------------------------------------------------------------------------------------
// Capacity of the minimal requests, by the same rules as the measurement.

/** A strongly consistent (or eventually consistent) read of `bytes` in one rounding unit. */
export const read = (bytes: number, consistent = true) => readUnits(bytes, { consistent });
export const write = (bytes: number) => writeUnits(bytes);
export const txWrite = (bytes: number) => writeUnits(bytes, { transactional: true });
export const check = (bytes: number) => conditionCheckUnits(bytes);
/** Index entries (ALL projection) of an item in `count` GSIs: one write each. */
export const indexPut = (bytes: number, count: number) => count * writeUnits(bytes);
/** An item update that changes updatedAt: GSI1 and GSI2 entries rewritten, the GSI3 entry moved (delete + put). */
const moved = (bytes: number) => indexPut(bytes, 2) + 2 * writeUnits(bytes);

// ---------------------------------------------------------------------------------------------
// Fixtures

type PipeView = { id: string; phases: Array<{ id: string; name: string }>; startForm: { fields: Array<{ id: string }> } };

export interface PipeState {
  pipe: PipeView;
  f: Record<string, string>;
}

export async function createPipe(ctx: BenchContext, name = 'Recruiting'): Promise<PipeState> {
  const pipe = (await ctx.api<PipeView>('createPipe', { body: { ...recruitingPipe, name } })).body;
  return { pipe, f: fieldIds(pipe as never) };
}

export function cardValues(s: PipeState, i: number) {
  return {
    [s.f['Candidate name']!]: `Candidate ${i}`,
    [s.f['Email']!]: `candidate${i}@example.com`,
    [s.f['Role']!]: 'Engineer',
    [s.f['Skills']!]: ['TypeScript', 'AWS'],
  };
}

async function createCard(ctx: BenchContext, s: PipeState, i: number): Promise<{ id: string; bytes: number }> {
  const card = (await ctx.api<{ id: string }>('createCard', { params: { pipeId: s.pipe.id }, body: { values: cardValues(s, i) } })).body;
  return { id: card.id, bytes: await ctx.size.item(keys.card(ctx.orgId, card.id)) };
}

const suppliers = {
  name: 'Suppliers',
  fields: [
    { label: 'Name', type: 'short_text', required: true, isTitle: true },
    { label: 'Email', type: 'email' },
    { label: 'Country', type: 'single_select', options: ['PT', 'BR', 'US', 'DE'] },
    { label: 'Rating', type: 'number' },
  ],
};

type DatabaseView = { id: string; fields: Array<{ id: string; label: string }> };

export interface DatabaseState {
  db: DatabaseView;
  f: Record<string, string>;
}

export async function createDatabase(ctx: BenchContext, name = 'Suppliers'): Promise<DatabaseState> {
  const db = (await ctx.api<DatabaseView>('createDatabase', { body: { ...suppliers, name } })).body;
  return { db, f: Object.fromEntries(db.fields.map((x) => [x.label, x.id])) };
}

export function recordValues(s: DatabaseState, i: number) {
  return { [s.f['Name']!]: `Supplier ${i}`, [s.f['Email']!]: `sales${i}@supplier.example`, [s.f['Country']!]: 'PT', [s.f['Rating']!]: 4 };
}

async function createRecord(ctx: BenchContext, s: DatabaseState, i: number): Promise<{ id: string; bytes: number }> {
  const record = (await ctx.api<{ id: string }>('createRecord', { params: { databaseId: s.db.id }, body: { values: recordValues(s, i) } })).body;
  return { id: record.id, bytes: await ctx.size.item(keys.record(ctx.orgId, record.id)) };
}

export const pipePartition = (ctx: BenchContext, pipeId: string) => ctx.size.partition(keys.pipe(ctx.orgId, pipeId).PK);
export const dbPartition = (ctx: BenchContext, databaseId: string) => ctx.size.partition(keys.database(ctx.orgId, databaseId).PK);

// Connections: Recruiting (parent) → Employee onboarding (child), as in the HR example of issue 3.

const onboardingPipe = {
  name: 'Employee onboarding',
  startFormFields: [
    { label: 'Employee', type: 'short_text', required: true, isTitle: true },
    { label: 'Email', type: 'email' },
    { label: 'Role', type: 'single_select', options: ['Engineer', 'Designer', 'Sales'] },
    { label: 'Start date', type: 'date' },
    { label: 'Department', type: 'short_text' },
  ],
  phases: [{ name: 'Prepare' }, { name: 'Done', done: true }],
};

interface ConnectionState {
  parent: PipeState;
  child: PipeState;
  connectionId: string;
}

/** Two pipes and a connection with a 5-entry field map (4 copied, one synced, 1 fixed value). */
async function connectedPipes(ctx: BenchContext, connection: Record<string, unknown> = {}): Promise<ConnectionState> {
  const parent = await createPipe(ctx);
  const childPipe = (await ctx.api<PipeView>('createPipe', { body: onboardingPipe })).body;
  const child = { pipe: childPipe, f: fieldIds(childPipe as never) };
  const { f: p } = parent;
  const { f: c } = child;
  const created = await ctx.api<{ id: string }>('createConnection', {
    body: {
      name: 'Onboarding',
      parent: { type: 'pipe', id: parent.pipe.id },
      child: { type: 'pipe', id: childPipe.id },
      entries: 'single',
      fieldMap: [
        { childFieldId: c['Employee'], parentFieldId: p['Candidate name'] },
        { childFieldId: c['Email'], parentFieldId: p['Email'], sync: true },
        { childFieldId: c['Role'], parentFieldId: p['Role'] },
        { childFieldId: c['Start date'], parentFieldId: p['Start date'] },
        { childFieldId: c['Department'], value: 'People' },
      ],
      ...connection,
    },
  });
  return { parent, child, connectionId: created.body.id };
}

type Sized = { id: string; bytes: number };

/** A parent card with every mapped field filled. */
async function createParentCard(ctx: BenchContext, s: ConnectionState, i: number): Promise<Sized> {
  const values = { ...cardValues(s.parent, i), [s.parent.f['Start date']!]: '2027-01-04' };
  const card = (await ctx.api<{ id: string }>('createCard', { params: { pipeId: s.parent.pipe.id }, body: { values } })).body;
  return { id: card.id, bytes: await ctx.size.item(keys.card(ctx.orgId, card.id)) };
}

async function createChildCard(ctx: BenchContext, s: ConnectionState, i: number, title = `Employee ${i}`): Promise<Sized> {
  const f = s.child.f;
  const values = { [f['Employee']!]: title, [f['Email']!]: `employee${i}@example.com`, [f['Role']!]: 'Engineer' };
  const card = (await ctx.api<{ id: string }>('createCard', { params: { pipeId: s.child.pipe.id }, body: { values } })).body;
  return { id: card.id, bytes: await ctx.size.item(keys.card(ctx.orgId, card.id)) };
}

const cardPk = (ctx: BenchContext, cardId: string) => keys.card(ctx.orgId, cardId).PK;

/** The three items a connect writes (child edge in the parent, parent edge in the child, the count). */
async function edgeSizes(ctx: BenchContext, connectionId: string, parentId: string, childId: string) {
  return {
    childEdge: await ctx.size.item(keys.childEdge(cardPk(ctx, parentId), connectionId, childId)),
    parentEdge: await ctx.size.item(keys.parentEdge(cardPk(ctx, childId), connectionId, parentId)),
    count: await ctx.size.item(keys.childCount(cardPk(ctx, parentId), connectionId)),
  };
}

/** A parent with 1,000 children through one connection, created from the parent (shared by several rows). */
const thousandChildren = (ctx: BenchContext) => parentWithChildren(ctx, 1000);

/** A Recruiting card with `CHILDREN` Tasks children through one connection (no rules), created from the parent. */
async function parentWithChildren(ctx: BenchContext, CHILDREN: number) {
  const parent = await createPipe(ctx);
  const tasks = (
    await ctx.api<PipeView>('createPipe', {
      body: {
        name: 'Tasks',
        startFormFields: [{ label: 'Task', type: 'short_text', required: true, isTitle: true }],
        phases: [{ name: 'To do' }, { name: 'Done', done: true }],
      },
    })
  ).body;
  const task = fieldIds(tasks as never)['Task']!;
  const connectionId = (
    await ctx.api<{ id: string }>('createConnection', {
      body: { name: 'Tasks', parent: { type: 'pipe', id: parent.pipe.id }, child: { type: 'pipe', id: tasks.id }, entries: 'multiple' },
    })
  ).body.id;
  const card = await createCard(ctx, parent, 0);
  const CONCURRENCY = 4;
  for (let i = 0; i < CHILDREN; i += CONCURRENCY) {
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, CHILDREN - i) }, (_, k) =>
        ctx.api('addCardChild', {
          params: { cardId: card.id },
          body: { connectionId, create: { values: { [task]: `Task ${String(i + k).padStart(4, '0')}` } } },
        }),
      ),
    );
  }
  return { parent, card, connectionId, children: CHILDREN };
}

// ---------------------------------------------------------------------------------------------

export const scenarios: Scenario[] = [
  scenario<Record<string, never>>({
    name: 'createPipe',
    route: 'createPipe',
    setup: async () => ({}),
    run: (ctx, _s, _i, n) => ctx.api('createPipe', { body: { ...recruitingPipe, name: `Recruiting ${n}` } }),
    async minimum(ctx, { result }) {
      const pipeId = result.body.id as string;
      const p = await ctx.size.partition(keys.pipe(ctx.orgId, pipeId).PK);
      const meta = await ctx.size.item(keys.pipe(ctx.orgId, pipeId));
      return {
        requests: { TransactWriteItems: 1 },
        rcu: 0,
        wcu: p.perItem.reduce((a, b) => a + txWrite(b), 0) + indexPut(meta, 1),
        note: `one TransactWriteItems: the definition (${p.items} items: pipe, phases, fields) appears whole; GSI1 lists the pipe`,
      };
    },
  }),

  scenario<PipeState>({
    name: 'getPipe',
    route: 'getPipe',
    setup: (ctx) => createPipe(ctx),
    run: (ctx, s) => ctx.api('getPipe', { params: { pipeId: s.pipe.id } }),
    async minimum(ctx, { state }) {
      const p = await pipePartition(ctx, state.pipe.id);
      return {
        requests: { Query: 1 },
        rcu: read(p.bytes),
        wcu: 0,
        note: `one strongly consistent Query of the definition partition (${p.items} items, ${p.bytes} B)`,
      };
    },
  }),

  scenario<{ count: number }>({
    name: 'listPipes',
    route: 'listPipes',
    async setup(ctx) {
      for (let i = 0; i < 5; i++) await createPipe(ctx, `Pipe ${i}`);
      return { count: 5 };
    },
    run: (ctx) => ctx.api('listPipes'),
    async minimum(ctx) {
      const page = await ctx.size.index('GSI1', gsi1.pipesOfOrg(ctx.orgId), 50);
      return { requests: { Query: 1 }, rcu: read(page.bytes, false), wcu: 0, note: `one GSI1 page (eventually consistent), ${page.items} pipes` };
    },
  }),

  scenario<PipeState & { before?: number }, number>({
    name: 'updatePipe (rename)',
    route: 'updatePipe',
    setup: (ctx) => createPipe(ctx),
    prepare: async (ctx, s) => ctx.size.item(keys.pipe(ctx.orgId, s.pipe.id)),
    run: (ctx, s, _before, n) => ctx.api('updatePipe', { params: { pipeId: s.pipe.id }, body: { name: `Recruiting ${n}` } }),
    async minimum(ctx, { state, input: before }) {
      const p = await pipePartition(ctx, state.pipe.id);
      const meta = Math.max(before, await ctx.size.item(keys.pipe(ctx.orgId, state.pipe.id)));
      return {
        requests: { Query: 1, UpdateItem: 1 },
        rcu: read(p.bytes),
        wcu: write(meta) + indexPut(meta, 1),
        note: 'definition read (validation, response) + one conditional UpdateItem of the pipe item: a single-item write needs no transaction; GSI1 entry refreshed',
      };
    },
  }),

  scenario<PipeState>({
    name: 'createCard',
    route: 'createCard',
    setup: (ctx) => createPipe(ctx),
    run: (ctx, s, _i, n) => ctx.api('createCard', { params: { pipeId: s.pipe.id }, body: { values: cardValues(s, n) } }),
    async minimum(ctx, { state, result }) {
      const p = await pipePartition(ctx, state.pipe.id);
      const card = await ctx.size.item(keys.card(ctx.orgId, result.body.id));
      const pipeMeta = await ctx.size.item(keys.pipe(ctx.orgId, state.pipe.id));
      const phase = await ctx.size.item(keys.phase(ctx.orgId, state.pipe.id, state.pipe.phases[0]!.id));
      return {
        requests: { Query: 1, TransactWriteItems: 1 },
        rcu: read(p.bytes),
        wcu: txWrite(card) + check(pipeMeta).wcu + check(phase).wcu + indexPut(card, 3),
        note: 'pipe definition (validate values, start form) + one TransactWriteItems: card Put, pipe and start phase ConditionChecks; card enters GSI1, GSI2 and GSI3 (change log)',
      };
    },
  }),

  scenario<PipeState & { card: { id: string } }>({
    name: 'getCard',
    route: 'getCard',
    setup: async (ctx) => {
      const s = await createPipe(ctx);
      return { ...s, card: await createCard(ctx, s, 0) };
    },
    run: (ctx, s) => ctx.api('getCard', { params: { cardId: s.card.id } }),
    async minimum(ctx, { state }) {
      const c = await ctx.size.partition(keys.card(ctx.orgId, state.card.id).PK);
      return {
        requests: { Query: 1 },
        rcu: read(c.bytes),
        wcu: 0,
        note: 'one strongly consistent read of the card (a GetItem of its header, or a Query of its partition once edges are returned)',
      };
    },
  }),

  ...[false, true].map((cold) =>
    scenario<PipeState & { card: { id: string } }, number>({
      name: `updateCard (one value)${cold ? ', cold definition cache' : ''}`,
      route: 'updateCard',
      shared: 'update-card',
      setup: async (ctx) => {
        const s = await createPipe(ctx);
        return { ...s, card: await createCard(ctx, s, 0) };
      },
      prepare: async (ctx, s) => {
        if (cold) await ctx.forgetDefinitions();
        return ctx.size.item(keys.card(ctx.orgId, s.card.id));
      },
      run: (ctx, s, _before, n) => ctx.api('updateCard', { params: { cardId: s.card.id }, body: { values: { [s.f['Role']!]: n % 2 ? 'Designer' : 'Sales' } } }),
      async minimum(ctx, { state, input: before }) {
        const c = await ctx.size.partition(keys.card(ctx.orgId, state.card.id).PK);
        const p = await pipePartition(ctx, state.pipe.id);
        const card = Math.max(before, c.bytes);
        return {
          requests: { Query: cold ? 2 : 1, UpdateItem: 1 },
          rcu: read(c.bytes) + (cold ? read(p.bytes) : 0),
          wcu: write(card) + indexPut(card, 2) + 2 * write(card),
          note: `card${cold ? " + pipe definition (field types; a container's first request)" : " (the pipe definition from the container's cache, at most 5 s old)"}, then one UpdateItem merging the value; GSI1 and GSI2 entries refreshed (title unchanged); its GSI3 entry moves to the new updatedAt (delete + put)`,
        };
      },
    }),
  ),

  scenario<PipeState, { id: string; bytes: number }>({
    name: 'moveCard',
    route: 'moveCard',
    setup: (ctx) => createPipe(ctx),
    prepare: (ctx, s, n) => createCard(ctx, s, n),
    run: (ctx, s, card) => ctx.api('moveCard', { params: { cardId: card.id }, body: { phaseId: s.pipe.phases[1]!.id } }),
    async minimum(ctx, { state, input: card }) {
      const after = await ctx.size.item(keys.card(ctx.orgId, card.id));
      const p = await pipePartition(ctx, state.pipe.id);
      const phase = await ctx.size.item(keys.phase(ctx.orgId, state.pipe.id, state.pipe.phases[1]!.id));
      const larger = Math.max(card.bytes, after);
      return {
        requests: { Query: 2, TransactWriteItems: 1 },
        rcu: read(card.bytes) + read(p.bytes),
        wcu: txWrite(larger) + check(phase).wcu + 2 * (write(card.bytes) + write(after)) + write(larger),
        note: 'card + pipe definition (required fields), then one TransactWriteItems: card Update + target phase ConditionCheck; GSI1 and GSI3 keys move (delete + put each), GSI2 refreshed',
      };
    },
  }),

  scenario<PipeState>({
    name: 'listCards (one phase)',
    route: 'listCards',
    async setup(ctx) {
      const s = await createPipe(ctx);
      for (let i = 0; i < 10; i++) await createCard(ctx, s, i);
      return s;
    },
    run: (ctx, s) => ctx.api('listCards', { params: { pipeId: s.pipe.id }, query: { phaseId: s.pipe.phases[0]!.id } }),
    async minimum(ctx, { state }) {
      const p = await pipePartition(ctx, state.pipe.id);
      const page = await ctx.size.index('GSI1', gsi1.cardsOfPhase(ctx.orgId, state.pipe.id, state.pipe.phases[0]!.id), 50);
      return {
        requests: { Query: 2 },
        rcu: read(p.bytes) + read(page.bytes, false),
        wcu: 0,
        note: `pipe definition (404 unknown pipe, 400 phase not in it) + one GSI1 page of ${page.items} cards`,
      };
    },
  }),

  scenario<PipeState>({
    name: 'listCards (whole pipe)',
    route: 'listCards',
    async setup(ctx) {
      const s = await createPipe(ctx);
      for (let i = 0; i < 10; i++) await createCard(ctx, s, i);
      return s;
    },
    run: (ctx, s) => ctx.api('listCards', { params: { pipeId: s.pipe.id } }),
    async minimum(ctx, { state }) {
      const p = await pipePartition(ctx, state.pipe.id);
      let rcu = read(p.bytes);
      for (const phase of state.pipe.phases) {
        rcu += read((await ctx.size.index('GSI1', gsi1.cardsOfPhase(ctx.orgId, state.pipe.id, phase.id), 50)).bytes, false);
      }
      return {
        requests: { Query: 1 + state.pipe.phases.length },
        rcu,
        wcu: 0,
        note: `pipe definition (phase order) + one GSI1 page per phase until the page is full: ${state.pipe.phases.length} phases, 10 cards all in the first`,
      };
    },
  }),

  scenario<PipeState, { id: string; bytes: number }>({
    name: 'deleteCard',
    route: 'deleteCard',
    setup: (ctx) => createPipe(ctx),
    prepare: (ctx, s, n) => createCard(ctx, s, n),
    run: (ctx, _s, card) => ctx.api('deleteCard', { params: { cardId: card.id } }),
    async minimum(ctx, { input: card }) {
      const tomb = await ctx.size.item(keys.tombstone(ctx.orgId, card.id));
      return {
        requests: { Query: 1, TransactWriteItems: 1 },
        rcu: read(card.bytes),
        wcu: txWrite(card.bytes) + indexPut(card.bytes, 3) + txWrite(tomb) + indexPut(tomb, 1),
        note: 'one Query of the card partition (the edges that go with it) + one TransactWriteItems: conditional card Delete and its tombstone Put (incremental sync sees the deletion for 30 days); GSI1, GSI2, GSI3 entries removed, the tombstone enters GSI3',
      };
    },
  }),

  scenario<Record<string, never>>({
    name: 'createDatabase',
    route: 'createDatabase',
    setup: async () => ({}),
    run: (ctx, _s, _i, n) => ctx.api('createDatabase', { body: { ...suppliers, name: `Suppliers ${n}` } }),
    async minimum(ctx, { result }) {
      const p = await dbPartition(ctx, result.body.id);
      const meta = await ctx.size.item(keys.database(ctx.orgId, result.body.id));
      return {
        requests: { TransactWriteItems: 1 },
        rcu: 0,
        wcu: p.perItem.reduce((a, b) => a + txWrite(b), 0) + indexPut(meta, 1),
        note: `one TransactWriteItems: database and its fields (${p.items} items) appear whole; GSI1 lists the database`,
      };
    },
  }),

  scenario<DatabaseState>({
    name: 'createRecord',
    route: 'createRecord',
    setup: (ctx) => createDatabase(ctx),
    run: (ctx, s, _i, n) => ctx.api('createRecord', { params: { databaseId: s.db.id }, body: { values: recordValues(s, n) } }),
    async minimum(ctx, { state, result }) {
      const p = await dbPartition(ctx, state.db.id);
      const rec = await ctx.size.item(keys.record(ctx.orgId, result.body.id));
      const meta = await ctx.size.item(keys.database(ctx.orgId, state.db.id));
      return {
        requests: { Query: 1, TransactWriteItems: 1 },
        rcu: read(p.bytes),
        wcu: txWrite(rec) + check(meta).wcu + indexPut(rec, 3),
        note: 'database definition (validate values) + one TransactWriteItems: record Put + database ConditionCheck; record enters GSI1, GSI2 and GSI3',
      };
    },
  }),

  scenario<DatabaseState & { record: { id: string } }>({
    name: 'getRecord',
    route: 'getRecord',
    setup: async (ctx) => {
      const s = await createDatabase(ctx);
      return { ...s, record: await createRecord(ctx, s, 0) };
    },
    run: (ctx, s) => ctx.api('getRecord', { params: { recordId: s.record.id } }),
    async minimum(ctx, { state }) {
      const r = await ctx.size.partition(keys.record(ctx.orgId, state.record.id).PK);
      return {
        requests: { Query: 1 },
        rcu: read(r.bytes),
        wcu: 0,
        note: 'one strongly consistent read of the record (GetItem of its header, or a Query of its partition)',
      };
    },
  }),

  ...[false, true].map((cold) =>
    scenario<DatabaseState & { record: { id: string } }, number>({
      name: `updateRecord (one value)${cold ? ', cold definition cache' : ''}`,
      route: 'updateRecord',
      shared: 'update-record',
      setup: async (ctx) => {
        const s = await createDatabase(ctx);
        return { ...s, record: await createRecord(ctx, s, 0) };
      },
      prepare: async (ctx, s) => {
        if (cold) await ctx.forgetDefinitions();
        return ctx.size.item(keys.record(ctx.orgId, s.record.id));
      },
      run: (ctx, s, _before, n) => ctx.api('updateRecord', { params: { recordId: s.record.id }, body: { values: { [s.f['Country']!]: n % 2 ? 'BR' : 'US' } } }),
      async minimum(ctx, { state, input: before }) {
        const r = await ctx.size.partition(keys.record(ctx.orgId, state.record.id).PK);
        const p = await dbPartition(ctx, state.db.id);
        const rec = Math.max(before, r.bytes);
        return {
          requests: { Query: cold ? 2 : 1, UpdateItem: 1 },
          rcu: read(r.bytes) + (cold ? read(p.bytes) : 0),
          wcu: write(rec) + indexPut(rec, 2) + 2 * write(rec),
          note: `record${cold ? " + database definition (field types, required; a container's first request)" : " (the database definition from the container's cache, at most 5 s old)"}, then one UpdateItem; GSI1 and GSI2 entries refreshed, GSI3 entry moves to the new updatedAt`,
        };
      },
    }),
  ),

  scenario<DatabaseState>({
    name: 'listRecords',
    route: 'listRecords',
    async setup(ctx) {
      const s = await createDatabase(ctx);
      for (let i = 0; i < 10; i++) await createRecord(ctx, s, i);
      return s;
    },
    run: (ctx, s) => ctx.api('listRecords', { params: { databaseId: s.db.id } }),
    async minimum(ctx, { state }) {
      const p = await dbPartition(ctx, state.db.id);
      const page = await ctx.size.index('GSI1', gsi1.recordsOfDatabase(ctx.orgId, state.db.id), 50);
      return {
        requests: { Query: 2 },
        rcu: read(p.bytes) + read(page.bytes, false),
        wcu: 0,
        note: `database definition (404 for an unknown database) + one GSI1 page of ${page.items} records`,
      };
    },
  }),

  scenario<DatabaseState, { id: string; bytes: number }>({
    name: 'deleteRecord',
    route: 'deleteRecord',
    setup: (ctx) => createDatabase(ctx),
    prepare: (ctx, s, n) => createRecord(ctx, s, n),
    run: (ctx, _s, record) => ctx.api('deleteRecord', { params: { recordId: record.id } }),
    async minimum(ctx, { input: record }) {
      const tomb = await ctx.size.item(keys.tombstone(ctx.orgId, record.id));
      return {
        requests: { Query: 1, TransactWriteItems: 1 },
        rcu: read(record.bytes),
        wcu: txWrite(record.bytes) + indexPut(record.bytes, 3) + txWrite(tomb) + indexPut(tomb, 1),
        note: 'one Query of the record partition (its edges) + one TransactWriteItems: conditional Delete and its tombstone Put; GSI1, GSI2, GSI3 entries removed, the tombstone enters GSI3',
      };
    },
  }),

  // --- Connections (issue 3). Every write row uses a fresh parent card per iteration, so the
  // header read is the same size each time (a parent with no children yet).

  scenario<ConnectionState & { conn: number }, { parent: Sized; child: Sized }>({
    name: 'connect existing child',
    route: 'addCardChild',
    setup: async (ctx) => {
      const s = await connectedPipes(ctx);
      return { ...s, conn: await ctx.size.item(keys.connection(ctx.orgId, s.connectionId)) };
    },
    prepare: async (ctx, s, n) => ({ parent: await createParentCard(ctx, s, n), child: await createChildCard(ctx, s, n) }),
    run: (ctx, s, { parent, child }) => ctx.api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: s.connectionId, childId: child.id } }),
    async minimum(ctx, { state, input: { parent, child } }) {
      const e = await edgeSizes(ctx, state.connectionId, parent.id, child.id);
      return {
        requests: { GetItem: 2, Query: 1, TransactWriteItems: 1 },
        txItems: 6,
        rcu: read(state.conn) + read(parent.bytes) + read(child.bytes),
        wcu:
          txWrite(e.childEdge) +
          txWrite(e.parentEdge) +
          txWrite(e.count) +
          check(state.conn).wcu +
          txWrite(parent.bytes) +
          txWrite(child.bytes) +
          moved(parent.bytes) +
          moved(child.bytes) +
          indexPut(e.childEdge, 1),
        note: 'connection (rules, limits) + parent header Query (its container, the 404) + child GetItem (its container, the 422); one TransactWriteItems: 2 edge Puts, count Update (the limit), a ConditionCheck on the connection (not being deleted), and edge-sequence + version Updates of parent and child (where they were read; a concurrent delete of either then fails instead of leaving the edge dangling; their ETags move on), which rewrite their GSI1 and GSI2 entries and move their GSI3 entries (new updatedAt); the child edge enters GSI1 (edges of a connection)',
      };
    },
  }),

  scenario<ConnectionState & { conn: number }, Sized>({
    name: 'create child from parent (5-entry field map)',
    route: 'addCardChild',
    setup: async (ctx) => {
      const s = await connectedPipes(ctx);
      return { ...s, conn: await ctx.size.item(keys.connection(ctx.orgId, s.connectionId)) };
    },
    prepare: (ctx, s, n) => createParentCard(ctx, s, n),
    run: (ctx, s, parent) => ctx.api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: s.connectionId, create: {} } }),
    async minimum(ctx, { state, input: parent, result }) {
      const childId = result.body.id as string;
      const e = await edgeSizes(ctx, state.connectionId, parent.id, childId);
      const card = await ctx.size.item(keys.card(ctx.orgId, childId));
      const parentDef = await pipePartition(ctx, state.parent.pipe.id);
      const childDef = await pipePartition(ctx, state.child.pipe.id);
      const childPipe = await ctx.size.item(keys.pipe(ctx.orgId, state.child.pipe.id));
      const phase = await ctx.size.item(keys.phase(ctx.orgId, state.child.pipe.id, state.child.pipe.phases[0]!.id));
      return {
        requests: { GetItem: 1, Query: 3, TransactWriteItems: 1 },
        txItems: 8,
        rcu: read(state.conn) + read(parent.bytes) + read(parentDef.bytes) + read(childDef.bytes),
        wcu:
          txWrite(card) +
          check(childPipe).wcu +
          check(phase).wcu +
          txWrite(e.childEdge) +
          txWrite(e.parentEdge) +
          txWrite(e.count) +
          check(state.conn).wcu +
          txWrite(parent.bytes) +
          moved(parent.bytes) +
          indexPut(card, 3) +
          indexPut(e.childEdge, 1),
        note: 'connection (field map) + parent header + parent definition (source field types) + child definition (target fields, start phase); one TransactWriteItems of 8: new card Put, child pipe and start phase ConditionChecks, 2 edge Puts, count Update, a ConditionCheck on the connection (not being deleted) and an edge-sequence + version Update of the parent (a concurrent delete of it then fails; its ETag moves on; GSI1/GSI2 entries rewritten, GSI3 entry moved); the card enters GSI1, GSI2 and GSI3, the child edge GSI1',
      };
    },
  }),

  scenario<ConnectionState & { conn: number }, { parent: Sized; child: Sized; edges: { childEdge: number; parentEdge: number; count: number } }>({
    name: 'disconnect child',
    route: 'removeCardChild',
    setup: async (ctx) => {
      const s = await connectedPipes(ctx);
      return { ...s, conn: await ctx.size.item(keys.connection(ctx.orgId, s.connectionId)) };
    },
    async prepare(ctx, s, n) {
      const parent = await createParentCard(ctx, s, n);
      const child = await createChildCard(ctx, s, n);
      await ctx.api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: s.connectionId, childId: child.id } });
      return { parent, child, edges: await edgeSizes(ctx, s.connectionId, parent.id, child.id) };
    },
    run: (ctx, s, { parent, child }) =>
      ctx.api('removeCardChild', { params: { cardId: parent.id, childId: child.id }, query: { connectionId: s.connectionId } }),
    async minimum(ctx, { state, input: { parent, child, edges } }) {
      const countAfter = await ctx.size.item(keys.childCount(cardPk(ctx, parent.id), state.connectionId));
      const p = Math.max(parent.bytes, await ctx.size.item(keys.card(ctx.orgId, parent.id)));
      const c = Math.max(child.bytes, await ctx.size.item(keys.card(ctx.orgId, child.id)));
      return {
        requests: { GetItem: 2, TransactWriteItems: 1 },
        txItems: 5,
        rcu: read(state.conn) + read(p),
        wcu:
          txWrite(edges.childEdge) +
          indexPut(edges.childEdge, 1) +
          txWrite(edges.parentEdge) +
          txWrite(Math.max(edges.count, countAfter)) +
          txWrite(p) +
          txWrite(c) +
          moved(p) +
          moved(c),
        note: 'connection (404) + parent GetItem (404, its summary, If-Match); one TransactWriteItems: child edge Delete (conditional: 404 when not connected), parent edge Delete, count Update, version Updates of parent and child (their ETags move on; GSI1/GSI2 rewritten, GSI3 moved); the child edge leaves GSI1',
      };
    },
  }),

  scenario<ConnectionState & { card: Sized }>({
    name: 'getCard with connections (2 parents, 4 children)',
    route: 'getCard',
    async setup(ctx) {
      // The card: child of an opening (Openings → Recruiting) and of a referral (Referrals → Recruiting),
      // parent of an onboarding card (single) and of 3 interviews (Interviews, multiple).
      const s = await connectedPipes(ctx);
      const card = await createParentCard(ctx, s, 0);
      const other = async (name: string, asParentOfCard: boolean, entries: 'single' | 'multiple') => {
        const pipe = await createPipe(ctx, name);
        const connectionId = (
          await ctx.api<{ id: string }>('createConnection', {
            body: {
              name,
              parent: { type: 'pipe', id: asParentOfCard ? pipe.pipe.id : s.parent.pipe.id },
              child: { type: 'pipe', id: asParentOfCard ? s.parent.pipe.id : pipe.pipe.id },
              entries,
            },
          })
        ).body.id;
        return { pipe, connectionId };
      };
      for (const name of ['Openings', 'Referrals']) {
        const { pipe, connectionId } = await other(name, true, 'multiple');
        const up = await createCard(ctx, pipe, 0);
        await ctx.api('addCardChild', { params: { cardId: up.id }, body: { connectionId, childId: card.id } });
      }
      await ctx.api('addCardChild', { params: { cardId: card.id }, body: { connectionId: s.connectionId, create: {} } });
      const interviews = await other('Interviews', false, 'multiple');
      for (let i = 0; i < 3; i++) {
        const down = await createCard(ctx, interviews.pipe, i);
        await ctx.api('addCardChild', { params: { cardId: card.id }, body: { connectionId: interviews.connectionId, childId: down.id } });
      }
      return { ...s, card };
    },
    run: (ctx, s) => ctx.api('getCard', { params: { cardId: s.card.id } }),
    async minimum(ctx, { state }) {
      const c = await ctx.size.partition(cardPk(ctx, state.card.id));
      const p = await pipePartition(ctx, state.parent.pipe.id);
      return {
        requests: { Query: 2 },
        rcu: read(c.bytes) + read(p.bytes),
        wcu: 0,
        note: `one strongly consistent Query of the card partition: header, counts, parent and child edges (${c.items} items, ${c.bytes} B), summaries carried on the edges; with children, the pipe definition too (which connection fields show the connected ids in values)`,
      };
    },
  }),

  scenario<Awaited<ReturnType<typeof thousandChildren>>>({
    name: 'getCard with 1,000 children',
    route: 'getCard',
    shared: 'thousand-children',
    setup: thousandChildren,
    run: (ctx, s) => ctx.api('getCard', { params: { cardId: s.card.id } }),
    async minimum(ctx, { state, result }) {
      const c = await ctx.size.partition(cardPk(ctx, state.card.id));
      const page = c.perItem.slice(0, HEADER_PAGE);
      const group = (result.body.children as Array<{ count: number; items: unknown[]; hasMore: boolean }>)[0]!;
      const p = await pipePartition(ctx, state.parent.pipe.id);
      return {
        requests: { Query: 2 },
        rcu: read(page.reduce((a, b) => a + b, 0)) + read(p.bytes),
        wcu: 0,
        note: `one Query page of ${HEADER_PAGE} items (Limit = HEADER_PAGE) of the ${c.items.toLocaleString('en')}-item partition: header, count, ${group.items.length} of ${group.count.toLocaleString('en')} children (hasMore: ${group.hasMore}); the rest through GET …/children, 50 a page by default; + the pipe definition (no connection field here, so no further read)`,
      };
    },
  }),

  scenario<Awaited<ReturnType<typeof thousandChildren>>>({
    name: 'listCardChildren (first page of 50 of 1,000)',
    route: 'listCardChildren',
    shared: 'thousand-children',
    setup: thousandChildren,
    run: (ctx, s) => ctx.api('listCardChildren', { params: { cardId: s.card.id }, query: { connectionId: s.connectionId } }),
    async minimum(ctx, { state, result }) {
      const c = await ctx.size.partition(cardPk(ctx, state.card.id));
      const card = await ctx.size.item(keys.card(ctx.orgId, state.card.id));
      // Children sort last in the partition: the page is the first child edges.
      const firstChild = c.items - state.children;
      const items = (result.body.items as unknown[]).length;
      const page = c.perItem.slice(firstChild, firstChild + items).reduce((a, b) => a + b, 0);
      return {
        requests: { GetItem: 1, Query: 1 },
        rcu: read(card) + read(page),
        wcu: 0,
        note: `parent GetItem (404 for an unknown card) + one strongly consistent Query of the card partition's CHILD#{connectionId}# range (${items} edges, Limit 50), edges carry the child summaries`,
      };
    },
  }),

  scenario<ConnectionState & { conn: number; card: Sized }>({
    name: 'candidate search (q, 20 a page)',
    route: 'connectionCandidates',
    async setup(ctx) {
      const s = await connectedPipes(ctx, { entries: 'multiple', name: 'Onboarding (multiple)' });
      const card = await createParentCard(ctx, s, 0);
      const employees: Sized[] = [];
      for (let i = 0; i < 30; i++) employees.push(await createChildCard(ctx, s, i));
      for (let i = 0; i < 10; i++) await createChildCard(ctx, s, 100 + i, `Contractor ${i}`);
      for (const e of employees.slice(0, 3))
        await ctx.api('addCardChild', { params: { cardId: card.id }, body: { connectionId: s.connectionId, childId: e.id } });
      return { ...s, card, conn: await ctx.size.item(keys.connection(ctx.orgId, s.connectionId)) };
    },
    run: (ctx, s) => ctx.api('connectionCandidates', { params: { connectionId: s.connectionId }, query: { parentId: s.card.id, q: 'Emp' } }),
    async minimum(ctx, { state, result }) {
      const found = result.body.items as Array<{ id: string; connected: boolean }>;
      const page = await ctx.size.index('GSI2', gsi2.cardTitles(ctx.orgId, state.child.pipe.id), 20, normalizeTitle('Emp'));
      const parent = await ctx.size.item(keys.card(ctx.orgId, state.card.id));
      let marks = 0;
      for (const c of found) marks += read(await ctx.size.item(keys.childEdge(cardPk(ctx, state.card.id), state.connectionId, c.id)), false);
      return {
        requests: { GetItem: 2, Query: 1, BatchGetItem: 1 },
        rcu: read(state.conn) + read(parent) + read(page.bytes, false) + marks,
        wcu: 0,
        note: `connection + parent GetItems (404s, parent container) + one GSI2 page by title prefix (${page.items} cards, eventually consistent) + one BatchGetItem of ${found.length} child-edge keys (${found.filter((c) => c.connected).length} connected): eventually consistent (a search hint), ½ RCU a key found or not`,
      };
    },
  }),

  // The flat write path: PATCH and move of a card cost the same at 0, 100 and 1,000 children.
  ...[0, 100, 1000].flatMap((n) => {
    const shared = n === 1000 ? 'thousand-children' : `children-${n}`;
    const setup = (ctx: BenchContext) => parentWithChildren(ctx, n);
    const label = n.toLocaleString('en');
    type S = Awaited<ReturnType<typeof parentWithChildren>>;
    /** The card's own items that the write path reads: counts, the card (and, for a move, its parents: none here). */
    const core = async (ctx: BenchContext, s: S) => {
      const c = await ctx.size.partition(cardPk(ctx, s.card.id));
      return c.perItem.slice(0, c.items - s.children).reduce((a, b) => a + b, 0);
    };
    return [
      ...[false, true].map((cold) =>
        scenario<S, number>({
          name: `updateCard (one value) at ${label} children${cold ? ', cold definition cache' : ''}`,
          route: 'updateCard',
          shared,
          setup,
          prepare: async (ctx, s) => {
            if (cold) await ctx.forgetDefinitions();
            return ctx.size.item(keys.card(ctx.orgId, s.card.id));
          },
          run: (ctx, s, _before, i) =>
            ctx.api('updateCard', { params: { cardId: s.card.id }, body: { values: { [s.parent.f['Role']!]: i % 2 ? 'Designer' : 'Sales' } } }),
          async minimum(ctx, { state, input: before }) {
            const p = await pipePartition(ctx, state.parent.pipe.id);
            const after = await ctx.size.item(keys.card(ctx.orgId, state.card.id));
            const card = Math.max(before, after);
            return {
              requests: { Query: cold ? 2 : 1, UpdateItem: 1 },
              rcu: read(await core(ctx, state)) + (cold ? read(p.bytes) : 0),
              wcu: write(card) + indexPut(card, 2) + 2 * write(card),
              note: `card + counts (one Query of #COUNT#..#META, no child edges)${cold ? " + pipe definition (a container's first request)" : ", the pipe definition from the container's cache (at most 5 s old)"}, then one UpdateItem; ${label} children untouched (their copies are the stream's)`,
            };
          },
        }),
      ),
      scenario<S, number>({
        name: `moveCard at ${label} children`,
        route: 'moveCard',
        shared,
        setup,
        prepare: async (ctx, s) => ctx.size.item(keys.card(ctx.orgId, s.card.id)),
        // Applied ↔ Offer: neither phase has required fields to leave.
        run: (ctx, s, _before, i) => ctx.api('moveCard', { params: { cardId: s.card.id }, body: { phaseId: s.parent.pipe.phases[i % 2 ? 0 : 2]!.id } }),
        async minimum(ctx, { state, input: before }) {
          const p = await pipePartition(ctx, state.parent.pipe.id);
          const after = await ctx.size.item(keys.card(ctx.orgId, state.card.id));
          const phase = await ctx.size.item(keys.phase(ctx.orgId, state.parent.pipe.id, state.parent.pipe.phases[0]!.id));
          const larger = Math.max(before, after);
          return {
            requests: { Query: 2, TransactWriteItems: 1 },
            rcu: read(await core(ctx, state)) + read(p.bytes),
            wcu: txWrite(larger) + check(phase).wcu + 2 * (write(before) + write(after)) + write(larger),
            note: `card + counts + parents (one Query up to the first child edge) + pipe definition, then card Update + phase ConditionCheck; GSI1 and GSI3 keys move, GSI2 refreshed; ${label} children untouched`,
          };
        },
      }),
    ];
  }),
];
