/**
 * Queries on the cards of a pipe and the records of a database: filters, sort, incremental sync.
 *
 * Syntax (query string, deepObject style, as Airtable/Stripe users write it):
 *   filter[<fieldId>]=v  (equals)    filter[<fieldId>][op]=v    op: eq ne in gt gte lt lte contains prefix empty
 *   filter[phase]=ph_…  filter[phase][in]=ph_a,ph_b  filter[finished]=true
 *   filter[createdAt][gte]=2026-01-01T00:00:00Z  filter[updatedAt][lt]=…  filter[title][prefix]=acm
 *   sort=createdAt | -createdAt | updatedAt | -updatedAt | title | -title | <fieldId> | -<fieldId>
 *   updatedSince=<date-time>   (incremental sync; alone, with limit and cursor)
 *
 * How each runs on DynamoDB (every read below is eventually consistent, on a GSI):
 * - The sort picks the index: createdAt → GSI1 (cards of each phase, ids are ULIDs, so id order
 *   is creation order; several phases are merged by id), updatedAt → GSI3 (container change
 *   log), title → GSI2 (normalized title). Without a sort, a title prefix/eq filter uses GSI2, an
 *   updatedAt range GSI3, a phase filter the phase's GSI1 partition, else phase by phase.
 * - Conditions the index key answers (phase, title prefix, updatedAt range) become key
 *   conditions: only matching items are read. Every other condition is applied after reading,
 *   in code: an item read and dropped costs its read like a DynamoDB FilterExpression would.
 * - Budget: a page reads at most READ_BUDGET items. When filters drop most of them, the page
 *   comes back with fewer than `limit` items (possibly none) and a nextCursor to continue from.
 * - Sorting by a field value needs every candidate in memory: allowed when the set the indexes
 *   narrow to has at most SORT_BUDGET items (each page re-reads that set), refused with 400
 *   `query.tooBroad` otherwise, after reading at most SORT_BUDGET + 1 items.
 * - updatedSince reads GSI3 from that time on, oldest change first, tombstones included; each
 *   page reads exactly what it returns.
 */
import type { UseCaseContext } from '../kernel/context';
import { BadRequestError, ValidationError } from '../kernel/errors';
import { normalizeTitle } from '../fields/field-types';
import type { Field } from '../fields/model';
import type { ItemType } from '../kernel/model';
import { decodeCursor, encodeCursor } from '../kernel/cursor';
import type { Item } from '../kernel/dynamo';
import { ENTITY, gsi1, gsi2, gsi3 } from '../kernel/keys';

export const READ_BUDGET = 1_000;
export const SORT_BUDGET = 1_000;
export const MAX_CONDITIONS = 10;
export const MAX_IN_VALUES = 50;
/**
 * How far back from "now" the next updatedSince starts: a write stamps updatedAt before it
 * commits (a contended transaction retries for seconds), index propagation and clocks lag too.
 * Changes inside this window are sent again next time; clients apply them by version.
 */
export const SYNC_SETTLE_MS = 60_000;

const OPS = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'prefix', 'empty'] as const;
export type Op = (typeof OPS)[number];

type Target = { kind: 'field'; field: Field } | { kind: 'phase' } | { kind: 'finished' } | { kind: 'createdAt' } | { kind: 'updatedAt' } | { kind: 'title' };

type Scalar = string | number | boolean;

export interface Condition {
  key: string;
  target: Target;
  op: Op;
  values: Scalar[];
}

export interface SortSpec {
  by: 'createdAt' | 'updatedAt' | 'title' | 'field';
  field?: Field;
  desc: boolean;
}

export interface ListQuery {
  conditions: Condition[];
  sort?: SortSpec;
  updatedSince?: string;
}

export interface RawListQuery {
  filter?: Record<string, string | Record<string, string>>;
  sort?: string;
  updatedSince?: string;
  /** The older ?phaseId= of the card list: the same as filter[phase]. */
  phaseId?: string;
  limit?: number;
  cursor?: string;
}

const TEXT = new Set(['short_text', 'long_text', 'email', 'phone']);
const RANGE = new Set(['number', 'currency', 'date', 'datetime']);
const LISTS = new Set(['multi_select', 'checklist', 'assignee']);

function opsFor(target: Target): readonly Op[] {
  switch (target.kind) {
    case 'phase':
      return ['eq', 'ne', 'in'];
    case 'finished':
      return ['eq'];
    case 'createdAt':
    case 'updatedAt':
      return ['gt', 'gte', 'lt', 'lte'];
    case 'title':
      return ['eq', 'prefix', 'contains'];
    case 'field': {
      const type = target.field.type;
      if (TEXT.has(type)) return ['eq', 'ne', 'in', 'contains', 'prefix', 'empty'];
      if (RANGE.has(type)) return ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'empty'];
      if (type === 'single_select') return ['eq', 'ne', 'in', 'empty'];
      if (LISTS.has(type)) return ['eq', 'in', 'empty'];
      if (type === 'attachment') return ['empty'];
      return [];
    }
  }
}

const bad = (path: string, message: string, code = 'query.invalidFilter') =>
  new BadRequestError(`${path} ${message}`, [{ path: `query.${path}`, message, code }]);

/** One filter value, typed and normalized for comparison with stored values. */
function parseValue(target: Target, op: Op, raw: string, path: string): Scalar {
  if (op === 'empty' || target.kind === 'finished') {
    if (raw !== 'true' && raw !== 'false') throw bad(path, 'must be true or false');
    return raw === 'true';
  }
  if (target.kind === 'createdAt' || target.kind === 'updatedAt') return timestamp(raw, path);
  if (target.kind === 'title') return normalizeTitle(raw);
  if (target.kind === 'phase') return raw;
  const type = target.field.type;
  if (type === 'number' || type === 'currency') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw bad(path, `"${raw}" is not a number`);
    return n;
  }
  if (type === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(raw)) throw bad(path, `"${raw}" is not a date YYYY-MM-DD`);
    return raw;
  }
  if (type === 'datetime') return timestamp(raw, path);
  if (TEXT.has(type)) return normalizeTitle(raw);
  return raw;
}

function timestamp(raw: string, path: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) throw bad(path, `"${raw}" is not an ISO 8601 date-time`);
  return new Date(ms).toISOString();
}

/**
 * Turns the query string into typed conditions against the container's fields. Anything the
 * server cannot answer as asked is a 400 naming the parameter: unknown field, an operator the
 * field type has no meaning for, a malformed value.
 */
export function parseListQuery(type: ItemType, fields: Field[], raw: RawListQuery, phaseIds: string[] = []): ListQuery {
  const conditions: Condition[] = [];
  const entries: Array<[string, string | Record<string, string>]> = Object.entries(raw.filter ?? {});
  if (raw.phaseId !== undefined) entries.push(['phase', raw.phaseId]);
  for (const [key, spec] of entries) {
    const target = targetOf(type, fields, key);
    const ops: Array<[string, string]> = typeof spec === 'string' ? [['eq', spec]] : Object.entries(spec);
    for (const [opName, rawValue] of ops) {
      const path = `filter[${key}]${typeof spec === 'string' ? '' : `[${opName}]`}`;
      if (!(OPS as readonly string[]).includes(opName)) throw bad(path, `has no operator ${opName}; use one of ${OPS.join(', ')}`);
      const op = opName as Op;
      const allowed = opsFor(target);
      if (!allowed.includes(op)) {
        throw bad(
          path,
          allowed.length ? `cannot be used with ${op}; this ${describe(target)} takes ${allowed.join(', ')}` : `${describe(target)} cannot be filtered`,
          'query.unsupportedFilter',
        );
      }
      if (typeof rawValue !== 'string') throw bad(path, 'must be a single value');
      const parts =
        op === 'in'
          ? rawValue
              .split(',')
              .map((v) => v.trim())
              .filter((v) => v.length > 0)
          : [rawValue];
      if (op === 'in' && (parts.length === 0 || parts.length > MAX_IN_VALUES)) throw bad(path, `takes 1 to ${MAX_IN_VALUES} comma-separated values`);
      const values = parts.map((v) => parseValue(target, op, v, path));
      if (target.kind === 'phase') {
        const unknown = values.find((v) => !phaseIds.includes(v as string));
        if (unknown !== undefined) {
          throw new ValidationError(`Phase ${unknown} is not a phase of this pipe`, [
            {
              path: `query.${key === 'phase' && raw.phaseId !== undefined && typeof spec === 'string' && spec === raw.phaseId ? 'phaseId' : path}`,
              message: `${unknown} is not a phase of this pipe`,
              code: 'phase.unknown',
            },
          ]);
        }
      }
      conditions.push({ key, target, op, values });
    }
  }
  if (conditions.length > MAX_CONDITIONS) throw bad('filter', `has ${conditions.length} conditions; at most ${MAX_CONDITIONS}`);
  const sort = raw.sort === undefined ? undefined : parseSort(type, fields, raw.sort);
  if (raw.updatedSince !== undefined) {
    if (conditions.length || sort) {
      throw new BadRequestError('updatedSince returns every change of the container, deletions included, in change order; it takes no filter or sort', [
        { path: 'query.updatedSince', message: 'cannot be combined with filter or sort (filter the mirrored copy instead)', code: 'query.syncIsWhole' },
      ]);
    }
    return { conditions, updatedSince: timestamp(raw.updatedSince, 'updatedSince') };
  }
  return { conditions, ...(sort ? { sort } : {}) };
}

function describe(target: Target) {
  return target.kind === 'field' ? `${target.field.type} field ${target.field.id}` : target.kind;
}

function targetOf(type: ItemType, fields: Field[], key: string): Target {
  if (key === 'createdAt' || key === 'updatedAt' || key === 'title') return { kind: key };
  if (key === 'phase' || key === 'finished') {
    if (type === 'record') throw bad(`filter[${key}]`, 'applies to cards only; records have no phases');
    return { kind: key };
  }
  const field = fields.find((f) => f.id === key);
  if (!field)
    throw bad(
      `filter[${key}]`,
      `is not a field of this ${type === 'card' ? 'pipe' : 'database'} (nor phase, finished, title, createdAt, updatedAt)`,
      'query.unknownField',
    );
  return { kind: 'field', field };
}

function parseSort(type: ItemType, fields: Field[], raw: string): SortSpec {
  const desc = raw.startsWith('-');
  const key = desc ? raw.slice(1) : raw;
  if (key === 'createdAt' || key === 'updatedAt' || key === 'title') return { by: key, desc };
  const field = fields.find((f) => f.id === key);
  if (!field) throw bad('sort', `"${raw}" is not createdAt, updatedAt, title or a field of this ${type === 'card' ? 'pipe' : 'database'}`, 'query.unknownSort');
  if (!TEXT.has(field.type) && !RANGE.has(field.type) && field.type !== 'single_select') {
    throw bad('sort', `a ${field.type} field has no order; sort by a text, number, currency, date or single-select field`, 'query.unsupportedSort');
  }
  return { by: 'field', field, desc };
}

// ——— Matching (pure) ————————————————————————————————————————————————————————————————————————

function readTarget(item: Item, target: Target): unknown {
  switch (target.kind) {
    case 'phase':
      return item['phaseId'];
    case 'finished':
      return item['finishedAt'] !== undefined;
    case 'createdAt':
    case 'updatedAt':
      return item[target.kind];
    case 'title':
      return normalizeTitle(String(item['title'] ?? ''));
    case 'field': {
      const value = (item['values'] as Record<string, unknown> | undefined)?.[target.field.id];
      if (typeof value === 'string' && TEXT.has(target.field.type)) return normalizeTitle(value);
      return value;
    }
  }
}

const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

function compare(a: unknown, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function matchesCondition(item: Item, c: Condition): boolean {
  const v = readTarget(item, c.target);
  const first = c.values[0]!;
  if (c.op === 'empty') return isEmpty(v) === first;
  if (Array.isArray(v)) {
    // Lists (multi-select, checklist, assignees): eq = has the value, in = has any of them.
    return c.values.some((x) => v.includes(x));
  }
  switch (c.op) {
    case 'eq':
      return v === first;
    case 'ne':
      return v !== first;
    case 'in':
      return c.values.some((x) => x === v);
    case 'gt':
      return !isEmpty(v) && compare(v, first) > 0;
    case 'gte':
      return !isEmpty(v) && compare(v, first) >= 0;
    case 'lt':
      return !isEmpty(v) && compare(v, first) < 0;
    case 'lte':
      return !isEmpty(v) && compare(v, first) <= 0;
    case 'contains':
      return typeof v === 'string' && v.includes(String(first));
    case 'prefix':
      return typeof v === 'string' && v.startsWith(String(first));
  }
}

export const matchesAll = (item: Item, conditions: Condition[]) => conditions.every((c) => matchesCondition(item, c));

// ——— Planning ——————————————————————————————————————————————————————————————————————————————

interface Source {
  index: 'GSI1' | 'GSI2' | 'GSI3';
  pkName: string;
  skName: string;
  pk: string;
  range?: { op: '>' | '>=' | '<' | '<=' | 'begins_with'; value: string } | { op: 'between'; value: string; to: string };
  forward: boolean;
}

export interface Plan {
  /** sequential: sources one after another; merge: sources merged by id; memory: read all, sort; sync: change log. */
  mode: 'sequential' | 'merge' | 'memory' | 'sync';
  sources: Source[];
  /** Conditions checked after reading (all of them: the key conditions are re-checked for free). */
  post: Condition[];
  excludeTombstones: boolean;
}

export interface Container {
  type: ItemType;
  id: string;
  /** Cards: the pipe's phases in order. */
  phases: string[];
}

const gsi1Source = (orgId: string, c: Container, phaseId: string | null, forward: boolean): Source => ({
  index: 'GSI1',
  pkName: 'GSI1PK',
  skName: 'GSI1SK',
  pk: c.type === 'card' ? gsi1.cardsOfPhase(orgId, c.id, phaseId!) : gsi1.recordsOfDatabase(orgId, c.id),
  forward,
});

function titleSource(orgId: string, c: Container, q: ListQuery, forward: boolean): Source {
  const cond = q.conditions.find((x) => x.target.kind === 'title' && (x.op === 'prefix' || x.op === 'eq'));
  const value = cond ? String(cond.values[0]) + (cond.op === 'eq' ? '#' : '') : undefined;
  return {
    index: 'GSI2',
    pkName: 'GSI2PK',
    skName: 'GSI2SK',
    pk: c.type === 'card' ? gsi2.cardTitles(orgId, c.id) : gsi2.recordTitles(orgId, c.id),
    ...(value ? { range: { op: 'begins_with' as const, value } } : {}),
    forward,
  };
}

function changesSource(orgId: string, c: Container, q: ListQuery, forward: boolean): Source {
  const bounds = q.conditions.filter((x) => x.target.kind === 'updatedAt');
  const lo =
    bounds
      .filter((x) => x.op === 'gt' || x.op === 'gte')
      .map((x) => String(x.values[0]))
      .sort()
      .at(-1) ?? q.updatedSince;
  const hi = bounds
    .filter((x) => x.op === 'lt' || x.op === 'lte')
    .map((x) => String(x.values[0]))
    .sort()[0];
  // Inclusive bounds in the key condition; strict ones are re-checked after reading.
  // Bounds that exclude each other match nothing (DynamoDB refuses a BETWEEN whose ends are reversed).
  const range =
    lo && hi && lo > hi
      ? { op: 'begins_with' as const, value: '~' }
      : lo && hi
        ? { op: 'between' as const, value: lo, to: hi }
        : lo
          ? { op: '>=' as const, value: lo }
          : hi
            ? { op: '<=' as const, value: hi }
            : undefined;
  return {
    index: 'GSI3',
    pkName: 'GSI3PK',
    skName: 'updatedAt',
    pk: c.type === 'card' ? gsi3.changesOfPipe(orgId, c.id) : gsi3.changesOfDatabase(orgId, c.id),
    ...(range ? { range } : {}),
    forward,
  };
}

/** The phases a card query reads, in phase order: all, or those its phase conditions allow. */
function phasesOf(c: Container, q: ListQuery): string[] {
  let phases = c.phases;
  for (const cond of q.conditions.filter((x) => x.target.kind === 'phase')) {
    phases = phases.filter((p) => (cond.op === 'ne' ? p !== cond.values[0] : cond.values.includes(p)));
  }
  return phases;
}

/** Chooses the index and the key conditions for a query; see the module comment for the rules. */
export function planQuery(orgId: string, c: Container, q: ListQuery): Plan {
  return withoutAnswered(planIndex(orgId, c, q));
}

/**
 * Conditions the key condition answers exactly need no check after reading: then a page reads
 * exactly what it returns (a phase on its GSI1 partition, a title prefix or equality on GSI2,
 * an inclusive updatedAt bound on GSI3).
 */
function withoutAnswered(plan: Plan): Plan {
  const index = plan.sources[0]?.index;
  const answered = (x: Condition) =>
    (index === 'GSI1' && x.target.kind === 'phase') ||
    (index === 'GSI2' && x.target.kind === 'title' && (x.op === 'prefix' || x.op === 'eq')) ||
    (index === 'GSI3' && x.target.kind === 'updatedAt' && (x.op === 'gte' || x.op === 'lte'));
  if (plan.mode === 'memory') return plan;
  return { ...plan, post: plan.post.filter((x) => !answered(x)) };
}

function planIndex(orgId: string, c: Container, q: ListQuery): Plan {
  const post = q.conditions;
  if (q.updatedSince !== undefined) return { mode: 'sync', sources: [changesSource(orgId, c, q, true)], post: [], excludeTombstones: false };
  const hasTitleKey = q.conditions.some((x) => x.target.kind === 'title' && (x.op === 'prefix' || x.op === 'eq'));
  const hasUpdatedRange = q.conditions.some((x) => x.target.kind === 'updatedAt');
  const narrowing = (): Plan => {
    if (hasTitleKey) return { mode: 'sequential', sources: [titleSource(orgId, c, q, true)], post, excludeTombstones: false };
    if (hasUpdatedRange) return { mode: 'sequential', sources: [changesSource(orgId, c, q, true)], post, excludeTombstones: true };
    if (c.type === 'record') return { mode: 'sequential', sources: [gsi1Source(orgId, c, null, true)], post, excludeTombstones: false };
    return { mode: 'sequential', sources: phasesOf(c, q).map((p) => gsi1Source(orgId, c, p, true)), post, excludeTombstones: false };
  };
  const sort = q.sort;
  if (!sort) return narrowing();
  const forward = !sort.desc;
  switch (sort.by) {
    case 'updatedAt':
      return { mode: 'sequential', sources: [changesSource(orgId, c, q, forward)], post, excludeTombstones: true };
    case 'title':
      return { mode: 'sequential', sources: [titleSource(orgId, c, q, forward)], post, excludeTombstones: false };
    case 'createdAt': {
      if (c.type === 'record') return { mode: 'sequential', sources: [gsi1Source(orgId, c, null, forward)], post, excludeTombstones: false };
      return { mode: 'merge', sources: phasesOf(c, q).map((p) => gsi1Source(orgId, c, p, forward)), post, excludeTombstones: false };
    }
    case 'field':
      return { ...narrowing(), mode: 'memory' };
  }
}

// ——— Execution ———————————————————————————————————————————————————————————————————————————————

export interface QueryResult {
  items: Item[];
  deleted: Array<{ id: string; deletedAt: string; version: number }>;
  nextCursor: string | null;
  /** Sync only, on the last page: the updatedSince to pass next time. */
  nextUpdatedSince?: string;
  /** Items read from the table for this page (what the page cost), and returned. */
  read: number;
}

type State = { s?: number; key?: Item; after?: string; pos?: [Scalar | null, string] };

/** Where a reader resumes after `item` in a source: the index key plus the table key. */
const resumeKey = (src: Source, item: Item): Item => ({ PK: item['PK'], SK: item['SK'], [src.pkName]: item[src.pkName], [src.skName]: item[src.skName] });

export async function runQuery(ctx: UseCaseContext, c: Container, q: ListQuery, page: { limit?: number; cursor?: string }, now: Date): Promise<QueryResult> {
  const { orgId } = ctx.principal;
  const plan = planQuery(orgId, c, q);
  const scope = `list:${c.type}:${orgId}:${c.id}:${canonical(q)}`;
  const limit = page.limit ?? 50;
  const expected = (state: State) => {
    if (plan.mode === 'merge' || plan.mode === 'memory') return {};
    const src = plan.sources[state.s ?? 0];
    return { [src?.pkName ?? 'GSI1PK']: src?.pk ?? '' };
  };
  let state: State = page.cursor ? decodeCursor<State>(scope, page.cursor, expected) : {};
  if (state.s !== undefined && (!Number.isInteger(state.s) || state.s < 0)) state = { s: plan.sources.length };
  // Items a cascade job is deleting are gone to list readers already; sync still sends them
  // (their tombstone follows when the job deletes them, and a refused job leaves them as they were).
  const keep = (item: Item) =>
    !(plan.excludeTombstones && item['entity'] === ENTITY.tombstone) && (plan.mode === 'sync' || !item['deleting']) && matchesAll(item, plan.post);
  const store = ctx.store.items;

  if (plan.mode === 'merge') return runMerge(ctx, plan, state, limit, keep, scope);
  if (plan.mode === 'memory') return runMemory(ctx, plan, q.sort!, state, limit, keep, scope);

  const out: Item[] = [];
  let read = 0;
  let s = state.s ?? 0;
  let key = state.key;
  const filtered = plan.post.length > 0 || plan.excludeTombstones;
  while (s < plan.sources.length && out.length < limit && read < READ_BUDGET) {
    const src = plan.sources[s]!;
    // Unfiltered, a Query reads exactly what the page still needs. Filtered, it reads what the
    // match rate seen so far says it needs (at first twice the page), so little is read in vain.
    const needed = limit - out.length;
    const rate = read > 0 ? Math.max(out.length / read, 0.05) : 0.5;
    const want = Math.min(READ_BUDGET - read, filtered ? Math.max(25, Math.ceil((needed / rate) * 1.2)) : needed);
    const result = await store.queryIndex({ ...src, limit: want, ...(key ? { startKey: key } : {}) });
    let stoppedAt = -1;
    for (const [i, item] of result.items.entries()) {
      read++;
      if (keep(item)) out.push(item);
      if (out.length >= limit) {
        stoppedAt = i;
        break;
      }
    }
    if (stoppedAt >= 0 && (stoppedAt < result.items.length - 1 || result.lastKey)) key = resumeKey(src, result.items[stoppedAt]!);
    else if (result.lastKey) key = result.lastKey;
    else {
      s++;
      key = undefined;
    }
  }
  const more = s < plan.sources.length;
  const result: QueryResult = { items: [], deleted: [], nextCursor: more ? encodeCursor(scope, { s, ...(key ? { key } : {}) }) : null, read };
  for (const item of out) {
    if (item['entity'] === ENTITY.tombstone)
      result.deleted.push({ id: item['id'] as string, deletedAt: item['updatedAt'] as string, version: item['version'] as number });
    else result.items.push(item);
  }
  if (plan.mode === 'sync' && !more) {
    const settled = new Date(now.getTime() - SYNC_SETTLE_MS).toISOString();
    // biome-ignore lint/complexity/useMathMinMax: ISO timestamps, compared as strings
    result.nextUpdatedSince = settled > q.updatedSince! ? settled : q.updatedSince!;
  }
  return result;
}

/** Cards of several phases in creation order: each phase's GSI1 partition read by id and merged. */
async function runMerge(ctx: UseCaseContext, plan: Plan, state: State, limit: number, keep: (i: Item) => boolean, scope: string): Promise<QueryResult> {
  const forward = plan.sources[0]?.forward ?? true;
  const before = (a: string, b: string) => (forward ? a < b : a > b);
  const after = state.after;
  const readers = plan.sources.map((src) => ({
    src,
    buffer: [] as Item[],
    key: undefined as Item | undefined,
    exhausted: false,
    frontier: undefined as string | undefined,
  }));
  let read = 0;
  const chunk = Math.max(1, Math.min(plan.post.length ? 100 : limit, Math.floor(READ_BUDGET / Math.max(1, readers.length))));
  const fill = async (r: (typeof readers)[number]) => {
    const range = after === undefined ? undefined : { op: forward ? ('>' as const) : ('<' as const), value: after };
    const page = await ctx.store.items.queryIndex({
      ...r.src,
      ...(range ? { range } : {}),
      limit: Math.min(chunk, READ_BUDGET - read),
      ...(r.key ? { startKey: r.key } : {}),
    });
    read += page.items.length;
    r.buffer.push(...page.items);
    r.key = page.lastKey;
    r.exhausted = !page.lastKey;
    if (page.items.length) r.frontier = page.items.at(-1)!['GSI1SK'] as string;
  };
  await Promise.all(readers.map(fill));
  const out: Item[] = [];
  let cursorAfter: string | undefined;
  let leftover = false;
  for (;;) {
    const open = readers.filter((r) => !r.exhausted);
    // Items up to the smallest frontier of the readers still open are safe to emit in order.
    const bound = open.length ? open.map((r) => r.frontier!).reduce((a, b) => (before(a, b) ? a : b)) : undefined;
    const safe = (i: Item) => bound === undefined || !before(bound, i['GSI1SK'] as string);
    const ready = readers.flatMap((r) => r.buffer.filter(safe)).sort((a, b) => (before(a['GSI1SK'] as string, b['GSI1SK'] as string) ? -1 : 1));
    for (const r of readers) r.buffer = r.buffer.filter((i) => !safe(i));
    for (const [n, item] of ready.entries()) {
      if (!keep(item)) continue;
      out.push(item);
      if (out.length >= limit) {
        cursorAfter = item['GSI1SK'] as string;
        leftover = n < ready.length - 1;
        break;
      }
    }
    if (cursorAfter !== undefined || !open.length) break;
    if (read >= READ_BUDGET) {
      // Everything up to the bound was considered: the next page continues after it.
      cursorAfter = bound;
      break;
    }
    await fill(open.find((r) => r.frontier === bound)!);
  }
  const more = cursorAfter !== undefined && (leftover || readers.some((r) => !r.exhausted || r.buffer.length > 0));
  return { items: out, deleted: [], nextCursor: more ? encodeCursor(scope, { after: cursorAfter }) : null, read };
}

/** Sort by a field value: the narrowed set is read whole (within SORT_BUDGET) and sorted in memory. */
async function runMemory(
  ctx: UseCaseContext,
  plan: Plan,
  sort: SortSpec,
  state: State,
  limit: number,
  keep: (i: Item) => boolean,
  scope: string,
): Promise<QueryResult> {
  const all: Item[] = [];
  let read = 0;
  for (const src of plan.sources) {
    let key: Item | undefined;
    do {
      const page = await ctx.store.items.queryIndex({ ...src, limit: SORT_BUDGET + 1 - read, ...(key ? { startKey: key } : {}) });
      read += page.items.length;
      all.push(...page.items.filter(keep));
      key = page.lastKey;
      if (read > SORT_BUDGET) {
        throw new BadRequestError(
          `Sorting by ${sort.field!.label} reads every matching item, and this query reaches more than ${SORT_BUDGET}; narrow it with filter[phase], filter[title][prefix] or filter[updatedAt], or sort by createdAt, updatedAt or title`,
          [{ path: 'query.sort', message: `sort by a field value is answered for at most ${SORT_BUDGET} items`, code: 'query.tooBroad' }],
        );
      }
    } while (key);
  }
  const sortValue = (item: Item): Scalar | null => {
    const v = readTarget(item, { kind: 'field', field: sort.field! });
    return isEmpty(v) || Array.isArray(v) ? null : (v as Scalar);
  };
  // Empty values sort last in both directions; ties by id keep pages stable.
  const cmp = (a: [Scalar | null, string], b: [Scalar | null, string]) => {
    if (a[0] === null || b[0] === null) {
      if (a[0] !== null) return -1;
      if (b[0] !== null) return 1;
    } else {
      const c = compare(a[0], b[0]);
      if (c !== 0) return sort.desc ? -c : c;
    }
    return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  };
  const rows = all.map((item) => ({ item, pos: [sortValue(item), item['id'] as string] as [Scalar | null, string] })).sort((a, b) => cmp(a.pos, b.pos));
  const from = state.pos ? rows.findIndex((r) => cmp(r.pos, state.pos!) > 0) : 0;
  const slice = from < 0 ? [] : rows.slice(from, from + limit);
  const more = from >= 0 && from + limit < rows.length;
  return { items: slice.map((r) => r.item), deleted: [], nextCursor: more ? encodeCursor(scope, { pos: slice.at(-1)!.pos }) : null, read };
}

/** The query in a canonical form, so a cursor is bound to the query it came from. */
function canonical(q: ListQuery): string {
  const conditions = q.conditions.map((c) => `${c.key}:${c.op}:${c.values.join('|')}`).sort();
  return JSON.stringify([conditions, q.sort ? `${q.sort.desc ? '-' : ''}${q.sort.by === 'field' ? q.sort.field!.id : q.sort.by}` : '', q.updatedSince ?? '']);
}

/** A list page of cards or records as the API answers it: views, cursor, and for sync the deletions. */
export async function listItems<V>(
  ctx: UseCaseContext,
  container: Container,
  fields: Field[],
  raw: RawListQuery,
  view: (item: Item) => V,
): Promise<{ items: V[]; nextCursor: string | null; deleted?: QueryResult['deleted']; nextUpdatedSince?: string }> {
  const q = parseListQuery(container.type, fields, raw, container.phases);
  const now = ctx.now ? ctx.now() : new Date();
  const result = await runQuery(ctx, container, q, raw, now);
  return {
    items: result.items.map(view),
    nextCursor: result.nextCursor,
    ...(q.updatedSince !== undefined ? { deleted: result.deleted } : {}),
    ...(result.nextUpdatedSince !== undefined ? { nextUpdatedSince: result.nextUpdatedSince } : {}),
  };
}
