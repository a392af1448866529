/**
 * One scenario per API operation. Each gets its own organization; `setup` builds what it needs
 * through the API (not measured), `prepare` makes per-iteration input (not measured, e.g. a fresh
 * card to move or delete), `run` makes exactly one API call (measured), and `minimum` states
 * what the design allows for that call, with sizes read from the table after the metered run.
 *
 * Adding a row: append a scenario to `scenarios` below.
 */
import type { RouteId } from '../functions/api/routes';
import { gsi1, keys } from '../domain/store/keys';
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
  /** One page of a GSI partition. */
  index(indexName: string, pk: string, limit?: number): Promise<{ bytes: number; items: number }>;
}

export interface BenchContext {
  orgId: string;
  api: Api;
  size: Sizer;
}

export interface Minimum {
  /** Requests by command name (as the SDK names them, without "Command"). */
  requests: Record<string, number>;
  rcu: number;
  wcu: number;
  /** One line: why this is the least the design can do. */
  note: string;
}

export interface Scenario<S = any, I = any> {
  name: string;
  route: RouteId;
  setup(ctx: BenchContext): Promise<S>;
  prepare?(ctx: BenchContext, state: S, iteration: number): Promise<I>;
  run(ctx: BenchContext, state: S, input: I, iteration: number): Promise<ApiResponse>;
  minimum(ctx: BenchContext, m: { state: S; input: I; result: ApiResponse }): Promise<Minimum>;
}

const scenario = <S, I = undefined>(s: Scenario<S, I>) => s as Scenario;

// ---------------------------------------------------------------------------------------------
// Capacity of the minimal requests, by the same rules as the measurement.

/** A strongly consistent (or eventually consistent) read of `bytes` in one rounding unit. */
const read = (bytes: number, consistent = true) => readUnits(bytes, { consistent });
const write = (bytes: number) => writeUnits(bytes);
const txWrite = (bytes: number) => writeUnits(bytes, { transactional: true });
const check = (bytes: number) => conditionCheckUnits(bytes);
/** Index entries (ALL projection) of an item in `count` GSIs: one write each. */
const indexPut = (bytes: number, count: number) => count * writeUnits(bytes);

// ---------------------------------------------------------------------------------------------
// Fixtures

type PipeView = { id: string; phases: Array<{ id: string; name: string }>; startForm: { fields: Array<{ id: string }> } };

interface PipeState {
  pipe: PipeView;
  f: Record<string, string>;
}

async function createPipe(ctx: BenchContext, name = 'Recruiting'): Promise<PipeState> {
  const pipe = (await ctx.api<PipeView>('createPipe', { body: { ...recruitingPipe, name } })).body;
  return { pipe, f: fieldIds(pipe as never) };
}

function cardValues(s: PipeState, i: number) {
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

interface DatabaseState {
  db: DatabaseView;
  f: Record<string, string>;
}

async function createDatabase(ctx: BenchContext, name = 'Suppliers'): Promise<DatabaseState> {
  const db = (await ctx.api<DatabaseView>('createDatabase', { body: { ...suppliers, name } })).body;
  return { db, f: Object.fromEntries(db.fields.map((x) => [x.label, x.id])) };
}

function recordValues(s: DatabaseState, i: number) {
  return { [s.f['Name']!]: `Supplier ${i}`, [s.f['Email']!]: `sales${i}@supplier.example`, [s.f['Country']!]: 'PT', [s.f['Rating']!]: 4 };
}

async function createRecord(ctx: BenchContext, s: DatabaseState, i: number): Promise<{ id: string; bytes: number }> {
  const record = (await ctx.api<{ id: string }>('createRecord', { params: { databaseId: s.db.id }, body: { values: recordValues(s, i) } })).body;
  return { id: record.id, bytes: await ctx.size.item(keys.record(ctx.orgId, record.id)) };
}

const pipePartition = (ctx: BenchContext, pipeId: string) => ctx.size.partition(keys.pipe(ctx.orgId, pipeId).PK);
const dbPartition = (ctx: BenchContext, databaseId: string) => ctx.size.partition(keys.database(ctx.orgId, databaseId).PK);

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
      return { requests: { Query: 1 }, rcu: read(p.bytes), wcu: 0, note: `one strongly consistent Query of the definition partition (${p.items} items, ${p.bytes} B)` };
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
        wcu: txWrite(card) + check(pipeMeta).wcu + check(phase).wcu + indexPut(card, 2),
        note: 'pipe definition (validate values, start form) + one TransactWriteItems: card Put, pipe and start phase ConditionChecks; card enters GSI1 and GSI2',
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
      return { requests: { Query: 1 }, rcu: read(c.bytes), wcu: 0, note: 'one strongly consistent read of the card (a GetItem of its header, or a Query of its partition once edges are returned)' };
    },
  }),

  scenario<PipeState & { card: { id: string } }, number>({
    name: 'updateCard (one value)',
    route: 'updateCard',
    setup: async (ctx) => {
      const s = await createPipe(ctx);
      return { ...s, card: await createCard(ctx, s, 0) };
    },
    prepare: async (ctx, s) => ctx.size.item(keys.card(ctx.orgId, s.card.id)),
    run: (ctx, s, _before, n) =>
      ctx.api('updateCard', { params: { cardId: s.card.id }, body: { values: { [s.f['Role']!]: n % 2 ? 'Designer' : 'Sales' } } }),
    async minimum(ctx, { state, input: before }) {
      const c = await ctx.size.partition(keys.card(ctx.orgId, state.card.id).PK);
      const p = await pipePartition(ctx, state.pipe.id);
      const card = Math.max(before, c.bytes);
      return {
        requests: { Query: 2, UpdateItem: 1 },
        rcu: read(c.bytes) + read(p.bytes),
        wcu: write(card) + indexPut(card, 2),
        note: 'card + pipe definition (field types), then one UpdateItem merging the value; GSI1 and GSI2 entries refreshed (title unchanged)',
      };
    },
  }),

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
        wcu: txWrite(larger) + check(phase).wcu + write(card.bytes) + write(after) + write(larger),
        note: 'card + pipe definition (required fields), then one TransactWriteItems: card Update + target phase ConditionCheck; GSI1 key moves (delete + put), GSI2 refreshed',
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
    async minimum(_ctx, { input: card }) {
      return {
        requests: { Query: 1, DeleteItem: 1 },
        rcu: read(card.bytes),
        wcu: write(card.bytes) + indexPut(card.bytes, 2),
        note: 'one Query of the card partition (the edges that go with it) + one conditional DeleteItem when it has none (a TransactWriteItems only with edges); GSI1 and GSI2 entries removed',
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
        wcu: txWrite(rec) + check(meta).wcu + indexPut(rec, 2),
        note: 'database definition (validate values) + one TransactWriteItems: record Put + database ConditionCheck; record enters GSI1 and GSI2',
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
      return { requests: { Query: 1 }, rcu: read(r.bytes), wcu: 0, note: 'one strongly consistent read of the record (GetItem of its header, or a Query of its partition)' };
    },
  }),

  scenario<DatabaseState & { record: { id: string } }, number>({
    name: 'updateRecord (one value)',
    route: 'updateRecord',
    setup: async (ctx) => {
      const s = await createDatabase(ctx);
      return { ...s, record: await createRecord(ctx, s, 0) };
    },
    prepare: async (ctx, s) => ctx.size.item(keys.record(ctx.orgId, s.record.id)),
    run: (ctx, s, _before, n) => ctx.api('updateRecord', { params: { recordId: s.record.id }, body: { values: { [s.f['Country']!]: n % 2 ? 'BR' : 'US' } } }),
    async minimum(ctx, { state, input: before }) {
      const r = await ctx.size.partition(keys.record(ctx.orgId, state.record.id).PK);
      const p = await dbPartition(ctx, state.db.id);
      const rec = Math.max(before, r.bytes);
      return {
        requests: { Query: 2, UpdateItem: 1 },
        rcu: read(r.bytes) + read(p.bytes),
        wcu: write(rec) + indexPut(rec, 2),
        note: 'record + database definition (field types, required), then one UpdateItem; GSI1 and GSI2 entries refreshed',
      };
    },
  }),

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
    async minimum(_ctx, { input: record }) {
      return {
        requests: { Query: 1, DeleteItem: 1 },
        rcu: read(record.bytes),
        wcu: write(record.bytes) + indexPut(record.bytes, 2),
        note: 'one Query of the record partition (its edges) + one conditional DeleteItem when it has none; GSI1 and GSI2 entries removed',
      };
    },
  }),
];
