/** Record use cases: the rows of a database, validated like card values; a record can be a parent or a child. */
import { deleteItem } from '../connections/cascade';
import { automationMark, nowIso, type UseCaseContext } from '../kernel/context';
import { ValidationError } from '../kernel/errors';
import { loadDatabase } from './databases';
import {
  connectionFieldSteps,
  recentContainerDefinition,
  createSteps,
  headerView,
  missingFields,
  readHeader,
  runSteps,
  splitValuesChecked,
  type Step,
} from '../connections/edges';
import { newId } from '../kernel/ids';
import { applyPatch, assertItemSize, checkPatchProblems, deriveTitle, invalidValues, ProblemList } from '../items/item-values';
import { updateItemValuesCounted } from '../items/item-update';
import type { DatabaseDefinition, DbRecord } from './model';
import { strip } from '../pipes/store';
import { listItems, type RawListQuery } from '../items/query';
import { fromHeader, touchesConnections, withConnectionIds } from '../items/views';

const UNTITLED = 'Untitled record';

/** A record as clients see it, in a stable, readable key order. */
export function recordView(record: DbRecord) {
  return {
    id: record.id,
    databaseId: record.databaseId,
    title: record.title,
    values: record.values,
    version: record.version,
    createdBy: record.createdBy,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** Builds a new record and the writes that create it; `preset` values (auto-fill) sit under the request's. */
export async function prepareRecord(
  ctx: UseCaseContext,
  def: DatabaseDefinition,
  input: { title?: string; values?: Record<string, unknown> },
  preset: Record<string, unknown> = {},
  /** A caller-chosen id (an automation derives it from its trigger, so a replay cannot create a second record). */
  id: string = newId('record'),
): Promise<{ record: DbRecord; steps: Step[] }> {
  const now = nowIso(ctx);
  const mark = automationMark(ctx);
  // One pass: every problem of the request in one 422 (bad values, connection fields, required fields).
  const problems = new ProblemList();
  const { plain, connections } = splitValuesChecked(def.fields, input.values, problems);
  const checked = checkPatchProblems(def.fields, { ...preset, ...plain });
  if (checked.problems.length) problems.add(invalidValues(checked.problems));
  const values = applyPatch({}, checked.values);
  const record: DbRecord = {
    id,
    databaseId: def.database.id,
    title: deriveTitle(def.database.titleFieldId, values, input.title, undefined, UNTITLED),
    values,
    version: 1,
    createdBy: ctx.principal.userId,
    createdAt: now,
    updatedAt: now,
    ...(mark ? { changedBy: mark } : {}),
  };
  await problems.run(() => assertItemSize(record, 'The record'), undefined);
  const linked = await problems.run(() => connectionFieldSteps(ctx, def.fields, def.outgoing, 'record', record, null, connections, now), {
    steps: [],
    counts: Object.fromEntries([...connections.keys()].map((id) => [def.fields.find((f) => f.id === id)?.connectionId ?? id, 1])),
  });
  const missing = missingFields(def.fields, values, linked.counts, 'record.requiredFieldMissing').filter((m) => !problems.has(m.path));
  if (missing.length) problems.add(new ValidationError(`The record needs: ${missing.map((m) => m.message).join('; ')}`, missing, 'record.incomplete'));
  problems.throwIfAny();
  return { record, steps: [...createSteps(ctx, 'record', record), ...linked.steps] };
}

export async function createRecord(ctx: UseCaseContext, databaseId: string, input: { title?: string; values?: Record<string, unknown> }) {
  const def = await loadDatabase(ctx, databaseId);
  const { record, steps } = await prepareRecord(ctx, def, input);
  await runSteps(ctx, steps);
  const [view] = await withConnectionIds(
    ctx,
    'record',
    def.fields,
    [{ view: recordView(record), ...(touchesConnections(def.fields, input.values) ? {} : { counts: {} }) }],
    { consistent: true },
  );
  return view!;
}

export async function getRecord(ctx: UseCaseContext, recordId: string) {
  const header = await readHeader<DbRecord>(ctx, 'record', recordId);
  // A container gone meanwhile shows no connection fields rather than failing the read.
  // Only which connection fields to show: a cached definition (up to max age old) will do.
  const fields = async () => (await recentContainerDefinition(ctx, 'record', header.item.databaseId).catch(() => null))?.definition.fields ?? [];
  const [view] = await withConnectionIds(ctx, 'record', fields, [{ view: recordView(header.item), ...fromHeader(header) }], { consistent: true });
  return { ...view!, ...headerView(header) };
}

export async function updateRecord(ctx: UseCaseContext, recordId: string, input: { title?: string; values?: Record<string, unknown> }, ifMatch?: number) {
  const { item, counts, fields } = await updateItemValuesCounted<DbRecord>(ctx, 'record', recordId, input, ifMatch, UNTITLED);
  const [view] = await withConnectionIds(ctx, 'record', fields, [{ view: recordView(item), counts }], { consistent: true });
  return view!;
}

/** 204 when done in one transaction; a job (202) when the cascade is larger (domain/connections/cascade.ts). */
export async function deleteRecord(ctx: UseCaseContext, recordId: string, ifMatch?: number) {
  return deleteItem(ctx, 'record', recordId, ifMatch);
}

/** Records of a database in creation order, unless the query filters, sorts or syncs (domain/items/query.ts). */
export async function listRecords(ctx: UseCaseContext, databaseId: string, query: RawListQuery) {
  const def = await loadDatabase(ctx, databaseId);
  const page = await listItems(ctx, { type: 'record', id: databaseId, phases: [] }, def.fields, query, (item) => recordView(strip<DbRecord>(item)));
  return {
    ...page,
    items: await withConnectionIds(
      ctx,
      'record',
      def.fields,
      page.items.map((view) => ({ view })),
      { consistent: false },
    ),
  };
}
