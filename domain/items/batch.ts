/**
 * Batch create/update of cards or records: up to 50 items in one request, all-or-nothing.
 *
 * Two phases. Validation reads and checks every item (values, required fields, synced fields,
 * connection fields, expected versions) and collects every item's problems, so one answer
 * lists them all by index (`items[3].values.fld_x`). Commit then runs every write as ONE
 * TransactWriteItems: the whole batch lands or nothing does.
 *
 * Action plan (DynamoDB allows 100 actions per transaction, and one action per item key):
 * - create: 1 Put (guarded by attribute_not_exists); the container check (and for cards the
 *   start-phase check) is shared by every create of the batch: 1 or 2 actions in all;
 * - update: 1 Update guarded by the version it was validated at (and `expectedVersion`);
 * - connection-field changes add their edge writes (2 per edge, plus count and guards).
 * So 50 items without connection changes need at most 52 actions; connection changes that push
 * the plan past 100 are refused with 422 `batch.tooManyWrites` before anything is written.
 * The request body limit (256 KB) keeps the transaction well under its 4 MB size limit.
 */
import { automationMark, type UseCaseContext } from '../kernel/context';
import { loadDatabase } from '../databases/databases';
import { containerOf, readCore, recentContainerDefinition, runSteps, type AnyItem, type Step } from '../connections/edges';
import { AppError, ConflictError, PreconditionFailedError, ValidationError, type FieldProblem } from '../kernel/errors';
import { cardView, prepareCard } from '../cards/cards';
import { neverParented, planValuesUpdate } from './item-update';
import type { DatabaseDefinition } from '../databases/model';
import type { ItemType } from '../kernel/model';
import type { PipeDefinition } from '../pipes/model';
import { loadPipe } from '../pipes/pipes';
import { prepareRecord, recordView } from '../databases/records';
import type { ItemCore } from './store';
import { MAX_BATCH_ITEMS, MAX_TRANSACTION_ACTIONS } from './batch-limits';
import { touchesConnections, withConnectionIds } from './views';

export { MAX_BATCH_ITEMS, MAX_TRANSACTION_ACTIONS };

export interface BatchItemInput {
  /** Present: update this item; absent: create a new one. */
  id?: string;
  title?: string;
  values?: Record<string, unknown>;
  /** Refuse the whole batch (412) unless the item is still at this version. */
  expectedVersion?: number;
}

interface Prepared {
  index: number;
  type: ItemType;
  before: ItemCore<AnyItem> | null;
  after: AnyItem;
  steps: Step[];
  changed: boolean;
  /** Child counts after the write (undefined: a create that names connection fields; read its edges). */
  counts: Record<string, number> | undefined;
}

type Definition = PipeDefinition | DatabaseDefinition;

const LABEL = { card: 'Card', record: 'Record' } as const;
const PLACEHOLDER = { card: 'Untitled card', record: 'Untitled record' } as const;

/** `body.values.fld_x` or `values.fld_x` of one item becomes `items[i].values.fld_x`. */
function itemPath(index: number, path: string): string {
  const rest = path.replace(/^body\.?/, '');
  return rest ? `items[${index}].${rest}` : `items[${index}]`;
}

function problemsOf(index: number, error: AppError): FieldProblem[] {
  if (error.errors.length) return error.errors.map((p) => ({ ...p, path: itemPath(index, p.path) }));
  return [{ path: error.status === 412 ? `items[${index}].expectedVersion` : `items[${index}]`, message: error.message, code: error.code }];
}

/** The items a batch has read, by id: validated again on a fresh definition, they are not read twice. */
type Cores = Map<string, ItemCore<AnyItem>>;

/** One item's update, validated against the item as read now; nothing written. */
async function prepareUpdate(ctx: UseCaseContext, type: ItemType, def: Definition, index: number, input: BatchItemInput, cores: Cores): Promise<Prepared> {
  const { orgId } = ctx.principal;
  const id = input.id!;
  const label = LABEL[type];
  // Flat, as a single PATCH: the item and its counts, never its child edges.
  const header = cores.get(id) ?? (await readCore<AnyItem>(ctx, type, id));
  cores.set(id, header);
  const item = header.item;
  const containerId = 'pipe' in def ? def.pipe.id : def.database.id;
  const itemContainer = containerOf(type, item);
  if (itemContainer !== containerId) {
    throw new ValidationError(`${id} is not in ${containerId}`, [
      { path: 'id', message: `${id} belongs to ${itemContainer}, not to ${containerId}`, code: 'batch.wrongContainer' },
    ]);
  }
  if (input.expectedVersion !== undefined && input.expectedVersion !== item.version) {
    throw new PreconditionFailedError(`${label} ${id} is at version ${item.version}, not ${input.expectedVersion}`, { currentVersion: item.version });
  }
  const { patch, next, now, linked, titleChange, changed } = await planValuesUpdate(ctx, type, header, def, input, PLACEHOLDER[type], 'title');
  if (!changed) return { index, type, before: header, after: item, steps: [], changed, counts: header.counts };
  // Guarded by the version validated here, so what was checked is what gets written.
  const guard = ctx.store.items.valuesUpdate(orgId, type, id, { values: patch, ...titleChange, now, mark: automationMark(ctx) }, item.version);
  const stale = () =>
    input.expectedVersion !== undefined
      ? new PreconditionFailedError(`items[${index}]: ${label} ${id} changed meanwhile; read it again`)
      : new ConflictError(`items[${index}]: ${label} ${id} changed meanwhile; try again`, 'resource.concurrentChange');
  return { index, type, before: header, after: next, steps: [{ item: guard, fail: stale }, ...linked.steps], changed, counts: linked.counts };
}

async function prepareCreate(ctx: UseCaseContext, type: ItemType, def: Definition, index: number, input: BatchItemInput, _cores: Cores): Promise<Prepared> {
  const data = { ...(input.title !== undefined ? { title: input.title } : {}), ...(input.values !== undefined ? { values: input.values } : {}) };
  if (input.expectedVersion !== undefined) {
    throw new ValidationError('expectedVersion needs an id', [
      { path: 'expectedVersion', message: 'only an update (an item with id) has a version', code: 'batch.versionWithoutId' },
    ]);
  }
  // A new item has children only through the connection fields its values name.
  const counts = touchesConnections(def.fields, input.values) ? undefined : {};
  if ('pipe' in def) {
    const { card, steps } = await prepareCard(ctx, def, data);
    return { index, type, before: null, after: card, steps, changed: true, counts };
  }
  const { record, steps } = await prepareRecord(ctx, def, data);
  return { index, type, before: null, after: record, steps, changed: true, counts };
}

const keyOf = (step: Step) => {
  const op = step.item.Put ?? step.item.Update ?? step.item.Delete ?? step.item.ConditionCheck;
  const key = step.item.Put ? { PK: step.item.Put.Item!['PK'], SK: step.item.Put.Item!['SK'] } : (op as { Key: Record<string, unknown> }).Key;
  return `${String(key['PK'])}\u0000${String(key['SK'])}`;
};

/**
 * Merges the items' steps into one transaction plan: identical guards (the pipe, the start
 * phase, a connection definition, a child two items connect) run once; any other
 * two actions on one key would be refused by DynamoDB, so they are refused here by index.
 */
function plan(prepared: Prepared[]): { steps: Step[]; problems: FieldProblem[] } {
  const steps: Step[] = [];
  const seen = new Map<string, { index: number; check: string | null }>();
  const problems: FieldProblem[] = [];
  for (const p of prepared) {
    for (const step of p.steps) {
      const key = keyOf(step);
      // Identical actions are guards (a condition check, the edge touch of a child that two
      // items connect): running one of them guards both items. The touch's time is either
      // item's (they differ by milliseconds), so it is left out of the comparison.
      const check = step.item.Put ? null : JSON.stringify(step.item, (k, v) => (k === ':now' ? undefined : v));
      const earlier = seen.get(key);
      if (earlier) {
        if (check !== null && earlier.check === check) continue;
        problems.push({
          path: `items[${p.index}]`,
          message: `writes an item that items[${earlier.index}] also writes or checks`,
          code: 'batch.overlappingWrites',
        });
        continue;
      }
      seen.set(key, { index: p.index, check });
      steps.push(step);
    }
  }
  return { steps, problems };
}

/** Every item validated on `def`: what each will write, and every problem by index; nothing written. */
async function validate(ctx: UseCaseContext, type: ItemType, def: Definition, inputs: BatchItemInput[], cores: Cores) {
  const problems: FieldProblem[] = [];
  const statuses = new Set<number>();
  const ids = new Map<string, number>();
  inputs.forEach((input, index) => {
    if (input.id === undefined) return;
    const first = ids.get(input.id);
    if (first !== undefined) {
      problems.push({ path: `items[${index}].id`, message: `${input.id} is already updated by items[${first}]`, code: 'batch.duplicateId' });
      statuses.add(422);
    } else ids.set(input.id, index);
  });
  const prepared: Prepared[] = [];
  // Items are validated one after another: each reads its item and its definitions, and a
  // batch of 50 must not fan out into hundreds of parallel reads.
  for (const [index, input] of inputs.entries()) {
    try {
      prepared.push(await (input.id === undefined ? prepareCreate : prepareUpdate)(ctx, type, def, index, input, cores));
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      problems.push(...problemsOf(index, error));
      statuses.add(error.status === 404 ? 422 : error.status);
    }
  }
  return { prepared, problems, statuses };
}

/**
 * Validates every item, then writes all of them in one transaction. Any problem anywhere
 * refuses the whole batch with one problem that lists every failing item by index.
 *
 * A batch of updates only may be validated on this container's cached definition, as a single
 * PATCH is (domain/items/item-update.ts): it is validated again on a fresh one (reusing the
 * items read) if anything is refused, if an item changes connection fields, or if an item ever
 * had a parent. A batch that creates reads fresh.
 */
export async function batchWrite(ctx: UseCaseContext, type: ItemType, containerId: string, inputs: BatchItemInput[]) {
  const cores: Cores = new Map();
  const updatesOnly = inputs.length > 0 && inputs.every((input) => input.id !== undefined);
  // The container first, once: an unknown pipe or database is a plain 404, not 50 item problems.
  const recent = updatesOnly ? await recentContainerDefinition(ctx, type, containerId) : null;
  let def: Definition | undefined;
  let result: Awaited<ReturnType<typeof validate>> | undefined;
  if (recent?.cached && !inputs.some((input) => touchesConnections(recent.definition.fields, input.values))) {
    const onCached = await validate(ctx, type, recent.definition, inputs, cores);
    const safe = !onCached.problems.length && onCached.prepared.every((p) => p.steps.length <= 1 && p.before !== null && neverParented(p.before));
    if (safe) [def, result] = [recent.definition, onCached];
  }
  if (!def || !result) {
    def = recent && !recent.cached ? recent.definition : type === 'card' ? await loadPipe(ctx, containerId) : await loadDatabase(ctx, containerId);
    result = await validate(ctx, type, def, inputs, cores);
  }
  const { prepared, problems, statuses } = result;
  const merged = plan(prepared);
  if (merged.problems.length) statuses.add(422);
  problems.push(...merged.problems);
  if (problems.length) throw batchRefused(problems, statuses, inputs.length);
  if (merged.steps.length > MAX_TRANSACTION_ACTIONS) {
    throw new ValidationError(
      `The batch needs ${merged.steps.length} writes; one transaction holds at most ${MAX_TRANSACTION_ACTIONS}. Split it or send fewer connection changes.`,
      [{ path: 'items', message: `${merged.steps.length} writes planned; the limit is ${MAX_TRANSACTION_ACTIONS}`, code: 'batch.tooManyWrites' }],
      'batch.tooManyWrites',
    );
  }
  // The summaries neighbours hold of retitled items are refreshed by the stream.
  if (merged.steps.length) await runSteps(ctx, merged.steps);
  const views = prepared.map((p) => ({
    view: p.type === 'card' ? cardView(p.after as Parameters<typeof cardView>[0]) : recordView(p.after as Parameters<typeof recordView>[0]),
    counts: p.counts,
  }));
  return { items: await withConnectionIds(ctx, type, def.fields, views, { consistent: true }) };
}

/**
 * The answer for a refused batch: one problem with every item's problems. Its status is the
 * one status all failures share (412 when only versions were stale, 409 for conflicts), else 422.
 */
function batchRefused(problems: FieldProblem[], statuses: Set<number>, count: number): AppError {
  const status = statuses.size === 1 ? [...statuses][0]! : 422;
  const failing = new Set(problems.map((p) => /^items\[(\d+)\]/.exec(p.path)?.[1]).filter(Boolean));
  const message = `${failing.size} of ${count} items cannot be written; nothing was written`;
  return new AppError(status, status === 412 ? 'request.preconditionFailed' : status === 409 ? 'batch.conflict' : 'batch.itemsInvalid', message, problems);
}
