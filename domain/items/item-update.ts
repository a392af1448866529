/** Updating a card's or record's values: one flow for both, since the rules are the same. */
import { automationMark, nowIso, type UseCaseContext } from '../kernel/context';
import {
  assertNotSynced,
  changedMeanwhile,
  connectionFieldSteps,
  containerDefinition,
  containerOf,
  missingFields,
  readCore,
  recentContainerDefinition,
  runSteps,
  splitValuesChecked,
  type AnyItem,
} from '../connections/edges';
import { AppError, NotFoundError, PreconditionFailedError, ValidationError } from '../kernel/errors';
import { applyPatch, assertItemSize, checkPatchProblems, deriveTitle, invalidValues, ProblemList } from './item-values';
import type { DatabaseDefinition } from '../databases/model';
import type { Field } from '../fields/model';
import type { ItemType } from '../kernel/model';
import type { PipeDefinition } from '../pipes/model';
import { PARENT_LINKS, type ItemCore } from './store';
import { touchesConnections } from './views';

const LABEL = { card: 'Card', record: 'Record' } as const;

/** What an update of values will write, once every rule has passed; nothing written yet. */
export interface ValuesPlan<T extends AnyItem> {
  /** The plain-field changes (null clears). */
  patch: Record<string, unknown>;
  /** The item as it will read after the write. */
  next: T;
  now: string;
  /** Connection-field changes: their transaction steps and the counts they leave. */
  linked: Awaited<ReturnType<typeof connectionFieldSteps>>;
  /** The title and its index key, when the title changes. */
  titleChange: { title?: string; indexKeys?: Record<string, string> };
  /** Whether the input changes anything at all. */
  changed: boolean;
}

/**
 * The rules of an update of values, for a single PATCH and a batch item alike: the patch checked
 * against the fields, synced fields refused, titles that follow a field refused (`titlePath`
 * names it in the caller's terms), the size limit, connection-field steps, and a record's
 * required fields. Reads only what those rules need.
 */
export async function planValuesUpdate<T extends AnyItem>(
  ctx: UseCaseContext,
  type: ItemType,
  core: ItemCore<T>,
  def: PipeDefinition | DatabaseDefinition,
  input: { title?: string; values?: Record<string, unknown> },
  placeholder: string,
  titlePath: string,
): Promise<ValuesPlan<T>> {
  const item = core.item;
  const titleFieldId = 'pipe' in def ? def.pipe.titleFieldId : def.database.titleFieldId;
  // One pass: every 422 problem of the request in one answer (values, title, size, connection fields, required fields).
  const problems = new ProblemList();
  const { plain, connections } = splitValuesChecked(def.fields, input.values, problems);
  const checked = checkPatchProblems(def.fields, plain);
  if (checked.problems.length) problems.add(invalidValues(checked.problems));
  const patch = checked.values;
  await assertNotSynced(ctx, type, item.id, def.incoming, patch);
  if (input.title !== undefined && titleFieldId) {
    problems.add(
      new ValidationError(`This ${'pipe' in def ? 'pipe' : 'database'} takes titles from a field; set that field instead`, [
        { path: titlePath, message: `the title follows field ${titleFieldId}`, code: `${type}.titleFromField` },
      ]),
    );
  }
  const now = nowIso(ctx);
  const values = applyPatch(item.values, patch);
  const title = deriveTitle(titleFieldId, values, input.title, item.title, placeholder);
  const next = { ...item, values, title, version: item.version + 1, updatedAt: now } as T;
  await problems.run(() => assertItemSize(next, `${LABEL[type]} ${item.id}`), undefined);
  const linked = await problems.run(() => connectionFieldSteps(ctx, def.fields, def.outgoing, type, next, core, connections, now), {
    steps: [],
    // A connection field whose change could not be planned is not also reported as cleared.
    counts: { ...core.counts, ...Object.fromEntries([...connections.keys()].map((id) => [def.fields.find((f) => f.id === id)?.connectionId ?? id, 1])) },
  });
  if (type === 'record') {
    // A database has no phases: its required fields hold at every write.
    const touched = def.fields.filter((f) => patch[f.id] === null || connections.has(f.id));
    const cleared = missingFields(touched, values, linked.counts, 'record.requiredFieldMissing').filter((m) => !problems.has(m.path));
    if (cleared.length) problems.add(new ValidationError('Required fields cannot be cleared', cleared, 'record.incomplete'));
  }
  problems.throwIfAny();
  const changed = Object.keys(patch).length > 0 || input.title !== undefined || connections.size > 0;
  const titleChange = title !== item.title ? { title, indexKeys: { GSI2SK: ctx.store.items.indexKeys(ctx.principal.orgId, type, next).GSI2SK } } : {};
  return { patch, next, now, linked, titleChange, changed };
}

/** Whether the item was never given a parent (PARENT_LINKS 0): no connection can sync a field of it. */
export function neverParented(core: ItemCore<AnyItem>): boolean {
  return (core.item as unknown as Record<string, unknown>)[PARENT_LINKS] === 0;
}

/**
 * Plans a values PATCH on this container's cached definition (up to max age old) when that is
 * safe, else on a fresh one. Only a fresh definition may refuse: a refusal by the cached one, or
 * a change of connection fields (whose connections and rules are checked fresh), plans again on
 * a fresh read. An item that ever had a parent is planned fresh too: whether a field is synced
 * from its parent may have changed (a new or edited connection), and a stale answer would let it
 * drift from its parent.
 */
async function planOnDefinition<T extends AnyItem>(
  ctx: UseCaseContext,
  type: ItemType,
  core: ItemCore<T>,
  input: { title?: string; values?: Record<string, unknown> },
  placeholder: string,
) {
  const containerId = containerOf(type, core.item);
  const recent = neverParented(core) ? await recentContainerDefinition(ctx, type, containerId) : null;
  if (recent?.cached && !touchesConnections(recent.definition.fields, input.values)) {
    try {
      const plan = await planValuesUpdate(ctx, type, core, recent.definition, input, placeholder, 'body.title');
      if (plan.linked.steps.length === 0) return { def: recent.definition, plan };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
    }
  }
  const def = recent && !recent.cached ? recent.definition : await containerDefinition(ctx, type, containerId);
  return { def, plan: await planValuesUpdate(ctx, type, core, def, input, placeholder, 'body.title') };
}

/**
 * Merges values (null clears), applies connection-field changes in the same transaction, and
 * refuses synced fields (409 naming the parent) and a stale If-Match (412). Flat: it reads the
 * item and its counts (never its child edges) and writes the item; the summaries neighbours hold
 * of a new title are refreshed by the stream.
 */
export async function updateItemValues<T extends AnyItem>(
  ctx: UseCaseContext,
  type: ItemType,
  id: string,
  input: { title?: string; values?: Record<string, unknown> },
  ifMatch: number | undefined,
  placeholder: string,
): Promise<T> {
  return (await updateItemValuesCounted<T>(ctx, type, id, input, ifMatch, placeholder)).item;
}

/** updateItemValues, with what the answer needs to show connection fields: the child counts after the write and the fields. */
export async function updateItemValuesCounted<T extends AnyItem>(
  ctx: UseCaseContext,
  type: ItemType,
  id: string,
  input: { title?: string; values?: Record<string, unknown> },
  ifMatch: number | undefined,
  placeholder: string,
): Promise<{ item: T; counts: Record<string, number>; fields: Field[] }> {
  const { orgId } = ctx.principal;
  const label = LABEL[type];
  const core = await readCore<T>(ctx, type, id);
  const item = core.item;
  if (ifMatch !== undefined && ifMatch !== item.version) {
    throw new PreconditionFailedError(`${label} ${id} is at version ${item.version}, not ${ifMatch}`, { currentVersion: item.version });
  }
  const { def, plan } = await planOnDefinition(ctx, type, core, input, placeholder);
  if (!plan.changed) return { item, counts: core.counts, fields: def.fields };
  const { patch, next, now, linked, titleChange } = plan;
  let updated: T;
  if (linked.steps.length === 0) {
    const result = await ctx.store.items.updateValues<T>(orgId, type, id, { values: patch, ...titleChange, now, mark: automationMark(ctx) }, ifMatch);
    if (!result) {
      const current = await ctx.store.items.get<T>(orgId, type, id);
      if (!current) throw new NotFoundError(label, id);
      throw new PreconditionFailedError(`${label} ${id} changed meanwhile (now version ${current.version})`, { currentVersion: current.version });
    }
    updated = result;
  } else {
    // Connection-field changes and the values go in one transaction, guarded by the version read.
    const guard = ctx.store.items.valuesUpdate(orgId, type, id, { values: patch, ...titleChange, now, mark: automationMark(ctx) }, item.version, true);
    await runSteps(ctx, [{ item: guard, fail: () => changedMeanwhile(label, id, ifMatch) }, ...linked.steps]);
    updated = next;
  }
  return { item: updated, counts: plan.linked.counts, fields: def.fields };
}
