/** Record use cases: the rows of a database, validated like card values; a record can be a parent or a child. */
import { nowIso, type UseCaseContext } from './context';
import { NotFoundError, PreconditionFailedError, ValidationError } from './errors';
import { loadDatabase } from './databases';
import {
  assertNotSynced,
  changedMeanwhile,
  connectionFieldSteps,
  createSteps,
  deleteWithEdges,
  headerView,
  missingFields,
  readHeader,
  refreshNeighbours,
  runSteps,
  splitValues,
  summaryChanged,
  summaryOf,
  type Step,
} from './edges';
import { newId } from './ids';
import { applyPatch, checkPatch, deriveTitle } from './item-values';
import type { DatabaseDefinition, DbRecord } from './model';
import { strip } from './store/containers';
import { decodeCursor, encodeCursor } from './store/cursor';
import { gsi1 } from './store/keys';

const UNTITLED = 'Untitled record';

async function refusedWrite(ctx: UseCaseContext, recordId: string): Promise<never> {
  const current = await ctx.store.items.get<DbRecord>(ctx.principal.orgId, 'record', recordId);
  if (!current) throw new NotFoundError('Record', recordId);
  throw new PreconditionFailedError(`Record ${recordId} changed meanwhile (now version ${current.version})`, { currentVersion: current.version });
}

/** Builds a new record and the writes that create it; `preset` values (auto-fill) sit under the request's. */
export async function prepareRecord(
  ctx: UseCaseContext,
  def: DatabaseDefinition,
  input: { title?: string; values?: Record<string, unknown> },
  preset: Record<string, unknown> = {},
): Promise<{ record: DbRecord; steps: Step[] }> {
  const now = nowIso(ctx);
  const { plain, connections } = splitValues(def.fields, input.values);
  const values = applyPatch({}, checkPatch(def.fields, { ...preset, ...plain }));
  const record: DbRecord = {
    id: newId('record'),
    databaseId: def.database.id,
    title: deriveTitle(def.database.titleFieldId, values, input.title, undefined, UNTITLED),
    values,
    version: 1,
    createdBy: ctx.principal.userId,
    createdAt: now,
    updatedAt: now,
  };
  const linked = await connectionFieldSteps(ctx, def.fields, def.outgoing, summaryOf('record', record), null, connections, now);
  const missing = missingFields(def.fields, values, linked.counts, 'record.requiredFieldMissing');
  if (missing.length) throw new ValidationError(`The record needs: ${missing.map((m) => m.message).join('; ')}`, missing, 'record.incomplete');
  return { record, steps: [...createSteps(ctx, 'record', record), ...linked.steps] };
}

export async function createRecord(ctx: UseCaseContext, databaseId: string, input: { title?: string; values?: Record<string, unknown> }) {
  const def = await loadDatabase(ctx, databaseId);
  const { record, steps } = await prepareRecord(ctx, def, input);
  await runSteps(ctx, steps);
  return record;
}

export async function getRecord(ctx: UseCaseContext, recordId: string) {
  const header = await readHeader<DbRecord>(ctx, 'record', recordId);
  return { ...header.item, ...headerView(header) };
}

export async function updateRecord(
  ctx: UseCaseContext,
  recordId: string,
  input: { title?: string; values?: Record<string, unknown> },
  ifMatch?: number,
) {
  const { orgId } = ctx.principal;
  const header = await readHeader<DbRecord>(ctx, 'record', recordId);
  const record = header.item;
  if (ifMatch !== undefined && ifMatch !== record.version) {
    throw new PreconditionFailedError(`Record ${recordId} is at version ${record.version}, not ${ifMatch}`, { currentVersion: record.version });
  }
  const def = await loadDatabase(ctx, record.databaseId);
  const { plain, connections } = splitValues(def.fields, input.values);
  const patch = checkPatch(def.fields, plain);
  assertNotSynced(def.incoming, header.parents, patch);
  if (input.title !== undefined && def.database.titleFieldId) {
    throw new ValidationError('This database takes record titles from a field; set that field instead', [
      { path: 'body.title', message: `the title follows field ${def.database.titleFieldId}`, code: 'record.titleFromField' },
    ]);
  }
  const now = nowIso(ctx);
  const values = applyPatch(record.values, patch);
  const title = deriveTitle(def.database.titleFieldId, values, input.title, record.title, UNTITLED);
  const next: DbRecord = { ...record, values, title, version: record.version + 1, updatedAt: now };
  const linked = await connectionFieldSteps(ctx, def.fields, def.outgoing, summaryOf('record', next), header, connections, now);
  // A database has no phases: its required fields hold at every write.
  const touched = def.fields.filter((f) => patch[f.id] === null || connections.has(f.id));
  const cleared = missingFields(touched, values, linked.counts, 'record.requiredFieldMissing');
  if (cleared.length) throw new ValidationError('Required fields cannot be cleared', cleared, 'record.incomplete');
  if (Object.keys(patch).length === 0 && input.title === undefined && connections.size === 0) return record;
  const titleChange = title !== record.title ? { title, indexKeys: { GSI2SK: ctx.store.items.indexKeys(orgId, 'record', next).GSI2SK } } : {};
  let updated: DbRecord;
  if (linked.steps.length === 0) {
    const result = await ctx.store.items.updateValues<DbRecord>(orgId, 'record', recordId, { values: patch, ...titleChange, now }, ifMatch);
    if (!result) return refusedWrite(ctx, recordId);
    updated = result;
  } else {
    const guard = ctx.store.items.valuesUpdate(orgId, 'record', recordId, { values: patch, ...titleChange, now }, record.version);
    await runSteps(ctx, [{ item: guard, fail: () => changedMeanwhile('Record', recordId, ifMatch) }, ...linked.steps]);
    updated = next;
  }
  if (summaryChanged(summaryOf('record', record), summaryOf('record', updated))) await refreshNeighbours(ctx, header, summaryOf('record', updated));
  return updated;
}

export async function deleteRecord(ctx: UseCaseContext, recordId: string, ifMatch?: number) {
  await deleteWithEdges(ctx, 'record', recordId, ifMatch);
}

export async function listRecords(ctx: UseCaseContext, databaseId: string, query: { limit?: number; cursor?: string }) {
  const { orgId } = ctx.principal;
  await loadDatabase(ctx, databaseId);
  const scope = `records:${orgId}:${databaseId}`;
  const partition = gsi1.recordsOfDatabase(orgId, databaseId);
  const start = query.cursor ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ GSI1PK: partition })) : undefined;
  const page = await ctx.store.items.listIndex(partition, query.limit ?? 50, start?.key);
  return {
    items: page.items.map((i) => strip<DbRecord>(i)),
    nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null,
  };
}
