/** Record use cases: the rows of a database, validated like card values. */
import { nowIso, type UseCaseContext } from './context';
import { NotFoundError, PreconditionFailedError, ValidationError } from './errors';
import { newId } from './ids';
import { applyPatch, checkPatch, deriveTitle, missingRequired } from './item-values';
import type { DbRecord } from './model';
import { loadDatabase } from './databases';
import { strip } from './store/containers';
import { decodeCursor, encodeCursor } from './store/cursor';
import { gsi1 } from './store/keys';

const UNTITLED = 'Untitled record';

async function readRecord(ctx: UseCaseContext, recordId: string): Promise<DbRecord> {
  const record = await ctx.store.items.get<DbRecord>(ctx.principal.orgId, 'record', recordId);
  if (!record) throw new NotFoundError('Record', recordId);
  return record;
}

async function refusedWrite(ctx: UseCaseContext, recordId: string): Promise<never> {
  const current = await ctx.store.items.get<DbRecord>(ctx.principal.orgId, 'record', recordId);
  if (!current) throw new NotFoundError('Record', recordId);
  throw new PreconditionFailedError(`Record ${recordId} changed meanwhile (now version ${current.version})`, { currentVersion: current.version });
}

export async function createRecord(ctx: UseCaseContext, databaseId: string, input: { title?: string; values?: Record<string, unknown> }) {
  const { orgId, userId } = ctx.principal;
  const def = await loadDatabase(ctx, databaseId);
  const values = applyPatch({}, checkPatch(def.fields, input.values));
  const missing = missingRequired(def.fields, values, 'record.requiredFieldMissing');
  if (missing.length) {
    throw new ValidationError(`The record needs: ${missing.map((m) => m.message.replace(/ is required$/, '')).join(', ')}`, missing, 'record.incomplete');
  }
  const now = nowIso(ctx);
  const record: DbRecord = {
    id: newId('record'),
    databaseId,
    title: deriveTitle(def.database.titleFieldId, values, input.title, undefined, UNTITLED),
    values,
    version: 1,
    createdBy: userId,
    createdAt: now,
    updatedAt: now,
  };
  const outcome = await ctx.store.items.create(orgId, 'record', record);
  if (outcome !== 'ok') throw new NotFoundError('Database', databaseId);
  return record;
}

export async function getRecord(ctx: UseCaseContext, recordId: string) {
  return readRecord(ctx, recordId);
}

export async function updateRecord(
  ctx: UseCaseContext,
  recordId: string,
  input: { title?: string; values?: Record<string, unknown> },
  ifMatch?: number,
) {
  const { orgId } = ctx.principal;
  const record = await readRecord(ctx, recordId);
  if (ifMatch !== undefined && ifMatch !== record.version) {
    throw new PreconditionFailedError(`Record ${recordId} is at version ${record.version}, not ${ifMatch}`, { currentVersion: record.version });
  }
  const def = await loadDatabase(ctx, record.databaseId);
  const patch = checkPatch(def.fields, input.values);
  if (input.title !== undefined && def.database.titleFieldId) {
    throw new ValidationError('This database takes record titles from a field; set that field instead', [
      { path: 'body.title', message: `the title follows field ${def.database.titleFieldId}`, code: 'record.titleFromField' },
    ]);
  }
  const next = applyPatch(record.values, patch);
  // A database has no phases: its required fields hold at every write.
  const cleared = missingRequired(def.fields.filter((f) => patch[f.id] === null), next, 'record.requiredFieldMissing');
  if (cleared.length) throw new ValidationError('Required fields cannot be cleared', cleared, 'record.incomplete');
  if (Object.keys(patch).length === 0 && input.title === undefined) return record;
  const title = deriveTitle(def.database.titleFieldId, next, input.title, record.title, UNTITLED);
  const titleChange =
    title !== record.title ? { title, indexKeys: { GSI2SK: ctx.store.items.indexKeys(orgId, 'record', { ...record, title }).GSI2SK } } : {};
  const updated = await ctx.store.items.updateValues<DbRecord>(orgId, 'record', recordId, { values: patch, ...titleChange, now: nowIso(ctx) }, ifMatch);
  return updated ?? refusedWrite(ctx, recordId);
}

export async function deleteRecord(ctx: UseCaseContext, recordId: string, ifMatch?: number) {
  const deleted = await ctx.store.items.delete<DbRecord>(ctx.principal.orgId, 'record', recordId, ifMatch);
  if (!deleted) {
    if (ifMatch === undefined) throw new NotFoundError('Record', recordId);
    await refusedWrite(ctx, recordId);
  }
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
