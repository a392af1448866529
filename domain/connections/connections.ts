/** Connection definitions: which parent (pipe or database) owns which children, and how. */
import { nowIso, type UseCaseContext } from '../kernel/context';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError, type FieldProblem } from '../kernel/errors';
import { checkValue } from '../fields/field-types';
import { mapCompatible } from './field-map';
import { newId } from '../kernel/ids';
import type { Connection, ConnectionRules, FieldMapEntry, OnParentDelete } from './model';
import type { Field } from '../fields/model';
import type { ContainerRef } from '../kernel/model';
import { bumpContainer } from '../pipes/store';
import { decodeCursor, encodeCursor } from '../kernel/cursor';
import { TransactionCancelled } from '../kernel/dynamo';
import { gsi1 } from '../kernel/keys';
import { removeEdgesOfConnection } from './edges';

interface FieldMapEntryInput {
  childFieldId: string;
  parentFieldId?: string | undefined;
  value?: unknown;
  sync?: boolean | undefined;
}

export interface UpdateConnectionInput {
  name?: string | undefined;
  entries?: Connection['entries'] | undefined;
  /** null removes the limit. */
  maxChildren?: number | null | undefined;
  canCreate?: boolean | undefined;
  canConnectExisting?: boolean | undefined;
  fieldMap?: FieldMapEntryInput[] | undefined;
  rules?: Partial<ConnectionRules> | undefined;
  onParentDelete?: OnParentDelete | undefined;
}

export interface CreateConnectionInput extends Omit<UpdateConnectionInput, 'name' | 'entries' | 'maxChildren'> {
  name: string;
  entries: Connection['entries'];
  maxChildren?: number | undefined;
  parent: ContainerRef;
  child: ContainerRef;
}

const NO_RULES = { childRequiredToMove: false, childRequiredToFinish: false, childrenFinishedToMove: false, childrenFinishedToFinish: false };

interface Definitions {
  parentFields: Field[];
  childFields: Field[];
  /** Connections that already point into the child container (for the one-sync-per-field rule). */
  childIncoming: Connection[];
}

async function loadEnd(ctx: UseCaseContext, ref: ContainerRef, path: string) {
  const def =
    ref.type === 'pipe'
      ? await ctx.store.containers.loadPipe(ctx.principal.orgId, ref.id)
      : await ctx.store.containers.loadDatabase(ctx.principal.orgId, ref.id);
  if (!def) {
    throw new ValidationError(`${ref.type === 'pipe' ? 'Pipe' : 'Database'} ${ref.id} does not exist`, [
      { path, message: `no ${ref.type} ${ref.id} in this organization`, code: 'connection.unknownContainer' },
    ]);
  }
  return def;
}

function checkFieldMap(map: FieldMapEntry[], defs: Definitions, connectionId: string | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of map.entries()) {
    const path = `body.fieldMap.${i}`;
    const child = defs.childFields.find((f) => f.id === entry.childFieldId);
    if (!child) {
      problems.push({ path: `${path}.childFieldId`, message: `${entry.childFieldId} is not a field of the child`, code: 'field.unknown' });
      continue;
    }
    if (seen.has(child.id)) problems.push({ path: `${path}.childFieldId`, message: `${child.label} is mapped twice`, code: 'connection.fieldMappedTwice' });
    seen.add(child.id);
    if (entry.parentFieldId !== undefined) {
      const parent = defs.parentFields.find((f) => f.id === entry.parentFieldId);
      if (!parent) {
        problems.push({ path: `${path}.parentFieldId`, message: `${entry.parentFieldId} is not a field of the parent`, code: 'field.unknown' });
        continue;
      }
      const why = mapCompatible(parent, child);
      if (why) problems.push({ path, message: `${parent.label} → ${child.label}: ${why}`, code: 'connection.incompatibleFields' });
    } else {
      const check = checkValue(child, entry.value);
      if (!check.ok) problems.push({ path: `${path}.value`, message: `${child.label} ${check.message}`, code: check.code });
    }
    if (entry.sync) {
      const other = defs.childIncoming.find((c) => c.id !== connectionId && c.fieldMap.some((e) => e.sync && e.childFieldId === child.id));
      if (other) {
        problems.push({
          path: `${path}.sync`,
          message: `${child.label} already follows connection ${other.id} (${other.name})`,
          code: 'connection.fieldAlreadySynced',
        });
      }
    }
  }
  return problems;
}

/** How many edges a limit change may read to prove no parent already has more children. */
const LIMIT_CHECK_EDGES = 20_000;

/**
 * A tighter limit must already hold: refuses (409, naming parents) to make a connection single
 * or lower its maximum while some parent has more children than that.
 */
async function assertLimitHolds(ctx: UseCaseContext, current: Connection, next: Connection) {
  const limit = (c: Connection) => (c.entries === 'single' ? 1 : (c.maxChildren ?? Infinity));
  if (limit(next) >= limit(current)) return;
  const perParent = new Map<string, number>();
  let read = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ctx.store.connections.edgesOfConnection(ctx.principal.orgId, current.id, 1000, startKey);
    for (const edge of page.items) perParent.set(edge['parentId'] as string, (perParent.get(edge['parentId'] as string) ?? 0) + 1);
    read += page.items.length;
    startKey = page.lastKey;
    if (startKey && read >= LIMIT_CHECK_EDGES) {
      throw new ConflictError(
        `Connection ${current.id} joins more than ${LIMIT_CHECK_EDGES} items; a tighter limit cannot be verified here`,
        'connection.limitUnverifiable',
      );
    }
  } while (startKey);
  const over = [...perParent].filter(([, n]) => n > limit(next));
  if (over.length) {
    throw new ConflictError(
      `${over.length} parent${over.length === 1 ? ' has' : 's have'} more children than the new limit allows: ${over
        .slice(0, 10)
        .map(([id, n]) => `${id} (${n})`)
        .join(', ')}; disconnect some first`,
      'connection.limitBelowExisting',
      { parentIds: over.slice(0, 100).map(([id]) => id) },
    );
  }
}

/** Refuses a synced connection that would close a loop of synced connections between containers. */
async function assertNoSyncCycle(ctx: UseCaseContext, candidate: Pick<Connection, 'id' | 'parent' | 'child' | 'fieldMap'>) {
  if (!candidate.fieldMap.some((e) => e.sync)) return;
  const all: Connection[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ctx.store.connections.list(ctx.principal.orgId, 100, startKey);
    all.push(...page.items);
    startKey = page.lastKey;
  } while (startKey);
  const graph = new Map<string, string[]>();
  for (const c of [...all.filter((c) => c.id !== candidate.id), candidate]) {
    if (!c.fieldMap.some((e) => e.sync)) continue;
    graph.set(c.parent.id, [...(graph.get(c.parent.id) ?? []), c.child.id]);
  }
  const stack = [candidate.child.id];
  const visited = new Set<string>();
  while (stack.length) {
    const node = stack.pop()!;
    if (node === candidate.parent.id) {
      throw new ValidationError('Synced connections would form a loop: a change could chase itself around it', [
        {
          path: 'body.fieldMap',
          message: `syncing ${candidate.parent.id} → ${candidate.child.id} closes a loop of synced connections`,
          code: 'connection.syncCycle',
        },
      ]);
    }
    if (visited.has(node)) continue;
    visited.add(node);
    stack.push(...(graph.get(node) ?? []));
  }
}

function assertRulesFit(parent: ContainerRef, rules: Connection['rules'], path = 'body.rules') {
  if (parent.type === 'database' && Object.values(rules).some(Boolean)) {
    throw new ValidationError('Rules apply to parent cards moving through phases; a database parent has none', [
      { path, message: 'a database parent cannot have move or finish rules', code: 'connection.rulesNeedPipe' },
    ]);
  }
}

/** Writes a definition and bumps the versions of the containers whose definitions now show it. */
function definitionWrites(ctx: UseCaseContext, connection: Connection, condition: 'new' | { version: number }) {
  const { orgId } = ctx.principal;
  const now = connection.updatedAt;
  const ends = connection.parent.id === connection.child.id ? [connection.parent] : [connection.parent, connection.child];
  return [
    ...ctx.store.connections.definitionPuts(orgId, connection, condition),
    ...ends.map((end) => bumpContainer(orgId, end.type, end.id, ctx.store.table, now)),
  ];
}

export async function createConnection(ctx: UseCaseContext, input: CreateConnectionInput): Promise<Connection> {
  const parentDef = await loadEnd(ctx, input.parent, 'body.parent.id');
  const childDef = input.child.id === input.parent.id ? parentDef : await loadEnd(ctx, input.child, 'body.child.id');
  const now = nowIso(ctx);
  const connection: Connection = {
    id: newId('connection'),
    name: input.name,
    parent: input.parent,
    child: input.child,
    entries: input.entries,
    ...(input.maxChildren !== undefined ? { maxChildren: input.maxChildren } : {}),
    canCreate: input.canCreate ?? true,
    canConnectExisting: input.canConnectExisting ?? true,
    fieldMap: (input.fieldMap ?? []).map((e) => ({ ...e, sync: e.sync ?? false })),
    rules: { ...NO_RULES, ...input.rules },
    onParentDelete: input.onParentDelete ?? 'unlink',
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  assertRulesFit(connection.parent, connection.rules);
  const problems = checkFieldMap(
    connection.fieldMap,
    { parentFields: parentDef.fields, childFields: childDef.fields, childIncoming: childDef.incoming },
    undefined,
  );
  if (problems.length)
    throw new ValidationError(`The field map is invalid: ${problems.map((p) => p.message).join('; ')}`, problems, 'connection.invalidFieldMap');
  await assertNoSyncCycle(ctx, connection);
  try {
    await ctx.store.containers.transact(definitionWrites(ctx, connection, 'new'));
  } catch (error) {
    if (error instanceof TransactionCancelled) throw new ConflictError('The parent or child is being deleted', 'connection.containerGone');
    throw error;
  }
  return connection;
}

export async function getConnection(ctx: UseCaseContext, connectionId: string): Promise<Connection> {
  const connection = await ctx.store.connections.get(ctx.principal.orgId, connectionId);
  if (!connection) throw new NotFoundError('Connection', connectionId);
  return connection;
}

export async function listConnections(ctx: UseCaseContext, query: { pipeId?: string; databaseId?: string; limit?: number; cursor?: string }) {
  const { orgId } = ctx.principal;
  if (query.pipeId || query.databaseId) {
    const ref: ContainerRef = query.pipeId ? { type: 'pipe', id: query.pipeId } : { type: 'database', id: query.databaseId! };
    const def = ref.type === 'pipe' ? await ctx.store.containers.loadPipe(orgId, ref.id) : await ctx.store.containers.loadDatabase(orgId, ref.id);
    if (!def) throw new NotFoundError(ref.type === 'pipe' ? 'Pipe' : 'Database', ref.id);
    const byId = new Map([...def.outgoing, ...def.incoming].map((c) => [c.id, c]));
    return { items: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)), nextCursor: null };
  }
  const scope = `connections:${orgId}`;
  const start = query.cursor
    ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ GSI1PK: gsi1.connectionsOfOrg(orgId) }))
    : undefined;
  const page = await ctx.store.connections.list(orgId, query.limit ?? 50, start?.key);
  return { items: page.items, nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null };
}

export async function updateConnection(ctx: UseCaseContext, connectionId: string, change: UpdateConnectionInput, ifMatch?: number): Promise<Connection> {
  const current = await getConnection(ctx, connectionId);
  if (ifMatch !== undefined && ifMatch !== current.version) {
    throw new PreconditionFailedError(`Connection ${connectionId} is at version ${current.version}, not ${ifMatch}`, { currentVersion: current.version });
  }
  const { maxChildren, fieldMap, rules, ...plain } = change;
  const next: Connection = {
    ...current,
    ...Object.fromEntries(Object.entries(plain).filter(([, v]) => v !== undefined)),
    ...(fieldMap ? { fieldMap: fieldMap.map((e) => ({ ...e, sync: e.sync ?? false })) } : {}),
    ...(rules ? { rules: { ...current.rules, ...rules } } : {}),
    version: current.version + 1,
    updatedAt: nowIso(ctx),
  };
  if (maxChildren === null) delete next.maxChildren;
  else if (maxChildren !== undefined) next.maxChildren = maxChildren;
  if (next.entries === 'single') delete next.maxChildren;
  if (!next.canCreate && !next.canConnectExisting) {
    throw new ValidationError('Allow creating, connecting existing items, or both', [
      { path: 'body.canCreate', message: 'both ways would be off', code: 'connection.noWayToConnect' },
    ]);
  }
  assertRulesFit(next.parent, next.rules);
  await assertLimitHolds(ctx, current, next);
  if (fieldMap) {
    const parentDef = await loadEnd(ctx, next.parent, 'parent');
    const childDef = next.child.id === next.parent.id ? parentDef : await loadEnd(ctx, next.child, 'child');
    const problems = checkFieldMap(
      next.fieldMap,
      { parentFields: parentDef.fields, childFields: childDef.fields, childIncoming: childDef.incoming },
      connectionId,
    );
    if (problems.length)
      throw new ValidationError(`The field map is invalid: ${problems.map((p) => p.message).join('; ')}`, problems, 'connection.invalidFieldMap');
    await assertNoSyncCycle(ctx, next);
  }
  try {
    await ctx.store.containers.transact(definitionWrites(ctx, next, { version: current.version }));
  } catch (error) {
    if (error instanceof TransactionCancelled) throw new PreconditionFailedError(`Connection ${connectionId} changed meanwhile; read it again`);
    throw error;
  }
  return next;
}

/**
 * Deletes a definition. One that still joins items is refused (409) unless cascade is asked
 * for; then it is marked first (no new connects), its edges are removed in batches, and the
 * definition goes last, so an interrupted delete can simply be repeated.
 */
export async function deleteConnection(ctx: UseCaseContext, connectionId: string, cascade: boolean, ifMatch?: number) {
  const { orgId } = ctx.principal;
  const connection = await getConnection(ctx, connectionId);
  if (ifMatch !== undefined && ifMatch !== connection.version) {
    throw new PreconditionFailedError(`Connection ${connectionId} is at version ${connection.version}, not ${ifMatch}`, { currentVersion: connection.version });
  }
  const parentDef = await loadEnd(ctx, connection.parent, 'parent').catch(() => null);
  const boundFields = parentDef?.fields.filter((f) => f.connectionId === connectionId) ?? [];
  if (boundFields.length) {
    throw new ConflictError(
      `Connection ${connectionId} is used by field ${boundFields.map((f) => `${f.label} (${f.id})`).join(', ')}; delete the field first`,
      'connection.usedByField',
      {
        fieldIds: boundFields.map((f) => f.id),
      },
    );
  }
  const first = await ctx.store.connections.edgesOfConnection(orgId, connectionId, 1);
  if (first.items.length && !cascade) {
    throw new ConflictError(`Connection ${connectionId} still connects items; disconnect them or delete with ?cascade=true`, 'connection.hasEdges');
  }
  if (!(await ctx.store.connections.markDeleting(orgId, connectionId, ifMatch))) throw new NotFoundError('Connection', connectionId);
  await removeEdgesOfConnection(ctx, connection);
  const now = nowIso(ctx);
  const ends = connection.parent.id === connection.child.id ? [connection.parent] : [connection.parent, connection.child];
  await ctx.store.containers.transact([
    ...ctx.store.connections.definitionDeletes(orgId, connection),
    ...ends.map((end) => bumpContainer(orgId, end.type, end.id, ctx.store.table, now)),
  ]);
}
