/** Database use cases: reference data with typed fields. */
import { nowIso, type UseCaseContext } from '../kernel/context';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../kernel/errors';
import { assertTitleField, buildField, fieldView, type FieldChange, type NewFieldInput } from '../fields/field-defs';
import { newId } from '../kernel/ids';
import type { Database, DatabaseDefinition } from './model';
import type { Field } from '../fields/model';
import { assertNoConnections, deleteContainerField, updateContainerField } from '../pipes/pipes';
import { bumpContainer, strip } from '../pipes/store';
import { decodeCursor, encodeCursor } from '../kernel/cursor';
import { TransactionCancelled } from '../kernel/dynamo';
import { gsi1, keys } from '../kernel/keys';

export function databaseView(def: DatabaseDefinition) {
  const { database } = def;
  return {
    id: database.id,
    name: database.name,
    ...(database.description ? { description: database.description } : {}),
    titleFieldId: database.titleFieldId ?? null,
    version: database.version,
    createdAt: database.createdAt,
    updatedAt: database.updatedAt,
    fields: def.fields.map(fieldView),
    connections: { asParent: def.outgoing, asChild: def.incoming },
  };
}

export async function loadDatabase(ctx: UseCaseContext, databaseId: string): Promise<DatabaseDefinition> {
  const def = await ctx.store.containers.loadDatabase(ctx.principal.orgId, databaseId);
  if (!def) throw new NotFoundError('Database', databaseId);
  return def;
}

function checkVersion(database: Database, ifMatch: number | undefined) {
  if (ifMatch !== undefined && ifMatch !== database.version) {
    throw new PreconditionFailedError(`Database ${database.id} is at version ${database.version}, not ${ifMatch}`, { currentVersion: database.version });
  }
}

export async function createDatabase(
  ctx: UseCaseContext,
  input: { name: string; description?: string; fields?: Array<NewFieldInput & { isTitle?: boolean }> },
) {
  const { orgId } = ctx.principal;
  const now = nowIso(ctx);
  const databaseId = newId('database');
  let titleFieldId: string | undefined;
  const fields: Field[] = (input.fields ?? []).map(({ isTitle, ...fieldInput }) => {
    const field = buildField(databaseId, fieldInput, now);
    if (isTitle) titleFieldId = field.id;
    return field;
  });
  if (titleFieldId) assertTitleField(fields, titleFieldId, 'body.fields.isTitle');
  const database: Database = {
    id: databaseId,
    name: input.name,
    ...(input.description ? { description: input.description } : {}),
    ...(titleFieldId ? { titleFieldId } : {}),
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  const c = ctx.store.containers;
  await c.createAll([c.databaseItem(orgId, database), ...fields.map((f) => c.fieldItem(orgId, 'database', f))]);
  return databaseView({ database, fields, outgoing: [], incoming: [] });
}

export async function listDatabases(ctx: UseCaseContext, query: { limit?: number; cursor?: string }) {
  const { orgId } = ctx.principal;
  const scope = `databases:${orgId}`;
  const partition = gsi1.databasesOfOrg(orgId);
  const start = query.cursor ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ GSI1PK: partition })) : undefined;
  const page = await ctx.store.containers.listContainers(orgId, 'database', query.limit ?? 50, start?.key);
  return {
    items: page.items.map((item) => {
      const { titleFieldId: _t, ...summary } = strip<Database>(item);
      return summary;
    }),
    nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null,
  };
}

export async function getDatabase(ctx: UseCaseContext, databaseId: string) {
  return databaseView(await loadDatabase(ctx, databaseId));
}

export async function updateDatabase(
  ctx: UseCaseContext,
  databaseId: string,
  change: { name?: string; description?: string | null; titleFieldId?: string | null },
  ifMatch?: number,
) {
  const { orgId } = ctx.principal;
  const def = await loadDatabase(ctx, databaseId);
  checkVersion(def.database, ifMatch);
  if (change.titleFieldId) assertTitleField(def.fields, change.titleFieldId, 'body.titleFieldId');
  const now = nowIso(ctx);
  const next: Database = { ...def.database, version: def.database.version + 1, updatedAt: now };
  const set: string[] = [];
  const remove: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const attr of ['name', 'description', 'titleFieldId'] as const) {
    const value = change[attr];
    if (value === undefined) continue;
    names[`#${attr}`] = attr;
    if (value === null) {
      remove.push(`#${attr}`);
      delete next[attr];
    } else {
      set.push(`#${attr} = :${attr}`);
      values[`:${attr}`] = value;
      next[attr] = value;
    }
  }
  try {
    await ctx.store.containers.transact([
      bumpContainer(orgId, 'database', databaseId, ctx.store.table, now, def.database.version, { set, remove, names, values }),
    ]);
  } catch (error) {
    if (error instanceof TransactionCancelled) {
      if (ifMatch !== undefined) throw new PreconditionFailedError(`Database ${databaseId} changed meanwhile; read it again`);
      throw new ConflictError(`Database ${databaseId} changed meanwhile; try again`, 'resource.concurrentChange');
    }
    throw error;
  }
  return databaseView({ ...def, database: next });
}

/** Deletes a database only when it has no records: marked first so none arrive while counting. */
export async function deleteDatabase(ctx: UseCaseContext, databaseId: string, ifMatch?: number) {
  const { orgId } = ctx.principal;
  const def = await loadDatabase(ctx, databaseId);
  checkVersion(def.database, ifMatch);
  assertNoConnections(def.outgoing, def.incoming, `Database ${databaseId}`);
  const key = keys.database(orgId, databaseId);
  const c = ctx.store.containers;
  try {
    await c.setMark(key, 'deleting', true, ifMatch);
  } catch (error) {
    if (error instanceof TransactionCancelled) {
      if (ifMatch !== undefined) throw new PreconditionFailedError(`Database ${databaseId} changed meanwhile`);
      throw new NotFoundError('Database', databaseId);
    }
    throw error;
  }
  const records = await c.countIndex(gsi1.recordsOfDatabase(orgId, databaseId)).catch(async (error) => {
    await c.setMark(key, 'deleting', false);
    throw error;
  });
  if (records > 0) {
    await c.setMark(key, 'deleting', false);
    throw new ConflictError(`Database ${databaseId} still has ${records} record${records === 1 ? '' : 's'}; delete them first`, 'database.notEmpty', {
      recordCount: records,
    });
  }
  await c.deletePartition(key);
}

export async function createDatabaseField(ctx: UseCaseContext, databaseId: string, input: NewFieldInput, ifMatch?: number) {
  const { orgId } = ctx.principal;
  const def = await loadDatabase(ctx, databaseId);
  checkVersion(def.database, ifMatch);
  if (def.fields.length >= 500) throw new ConflictError('A database has at most 500 fields', 'database.tooManyFields');
  const now = nowIso(ctx);
  const field = buildField(databaseId, input, now);
  const c = ctx.store.containers;
  try {
    await c.transact([
      { Put: { TableName: ctx.store.table, Item: c.fieldItem(orgId, 'database', field), ConditionExpression: 'attribute_not_exists(PK)' } },
      bumpContainer(orgId, 'database', databaseId, ctx.store.table, now, def.database.version),
    ]);
  } catch (error) {
    if (error instanceof TransactionCancelled) throw new ConflictError(`Database ${databaseId} changed meanwhile; try again`, 'resource.concurrentChange');
    throw error;
  }
  return fieldView(field);
}

export async function updateDatabaseField(ctx: UseCaseContext, databaseId: string, fieldId: string, change: FieldChange, ifMatch?: number) {
  const def = await loadDatabase(ctx, databaseId);
  checkVersion(def.database, ifMatch);
  return updateContainerField(ctx, 'database', databaseId, def.fields, def.database.version, fieldId, change);
}

export async function deleteDatabaseField(ctx: UseCaseContext, databaseId: string, fieldId: string, ifMatch?: number) {
  const def = await loadDatabase(ctx, databaseId);
  checkVersion(def.database, ifMatch);
  await deleteContainerField(ctx, 'database', databaseId, def.fields, def.database.version, def.database.titleFieldId, fieldId);
}
