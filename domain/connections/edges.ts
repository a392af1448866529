/**
 * Connecting items: edges between a parent card or record and its children, created, removed
 * and read in the transactions and single Queries the design asks for.
 */
import { isDeepStrictEqual } from 'node:util';
import type { UseCaseContext } from '../kernel/context';
import { nowIso } from '../kernel/context';
import { titleFrom } from '../fields/field-defs';
import { type AppError, ConflictError, NotFoundError, PreconditionFailedError, ValidationError, type FieldProblem } from '../kernel/errors';
import { isFilled, normalizeTitle, parseConnectionChange, type ConnectionFieldChange } from '../fields/field-types';
import type { Card } from '../cards/model';
import type { Connection, Edge, ItemSummary } from './model';
import type { DbRecord } from '../databases/model';
import type { Field } from '../fields/model';
import type { ContainerRef, ItemType } from '../kernel/model';
import { CHANGED_BY, PROPAGATION, syncedValues, syncVersionAttribute } from '../propagation/propagation';
import { itemPk, itemTypeOf } from './store';
import { decodeCursor, encodeCursor } from '../kernel/cursor';
import { TransactionCancelled, type TransactItem } from '../kernel/dynamo';
import { PARENT_LINKS, type ItemCore, type ItemHeader } from '../items/store';
import { EDGE_PREFIX, gsi2, keys } from '../kernel/keys';

export type AnyItem = Card | DbRecord;

/** A write and the error a client should see if the write's condition is what cancelled it. */
export interface Step {
  item: TransactItem;
  fail: () => AppError;
}

export const steps = (items: TransactItem[], fail: () => AppError): Step[] => items.map((item) => ({ item, fail }));

/** Runs steps as one transaction; a cancelled condition becomes the error of the step that failed. */
export async function runSteps(ctx: UseCaseContext, list: Step[]): Promise<void> {
  if (list.length > 100) {
    throw new ValidationError('Too many changes for one request; split them up', [
      { path: 'body', message: `${list.length} writes; at most 100`, code: 'request.tooManyChanges' },
    ]);
  }
  try {
    await ctx.store.containers.transact(list.map((s) => s.item));
  } catch (error) {
    if (error instanceof TransactionCancelled) {
      const index = error.codes.indexOf('ConditionalCheckFailed');
      throw index >= 0 ? list[index]!.fail() : new ConflictError('A concurrent change got in the way; try again', 'resource.concurrentChange');
    }
    throw error;
  }
}

export function containerOf(type: ItemType, item: AnyItem): string {
  return type === 'card' ? (item as Card).pipeId : (item as DbRecord).databaseId;
}

export function summaryOf(type: ItemType, item: AnyItem): ItemSummary {
  const card = item as Card;
  return {
    id: item.id,
    type,
    containerId: containerOf(type, item),
    title: item.title,
    ...(type === 'card' ? { phaseId: card.phaseId } : {}),
    finished: type === 'card' ? card.finishedAt !== undefined : false,
    version: item.version,
  };
}

const label = (type: ItemType) => (type === 'card' ? 'Card' : 'Record');

/** A guarded write lost to a concurrent change: 412 when the client named a version, else 409. */
export function changedMeanwhile(kind: string, id: string, ifMatch: number | undefined): AppError {
  return ifMatch !== undefined
    ? new PreconditionFailedError(`${kind} ${id} changed meanwhile; read it again`)
    : new ConflictError(`${kind} ${id} changed meanwhile; try again`, 'resource.concurrentChange');
}

export async function readHeader<T extends AnyItem>(ctx: UseCaseContext, type: ItemType, id: string): Promise<ItemHeader<T>> {
  const header = await ctx.store.items.getWithEdges<T>(ctx.principal.orgId, type, id);
  if (!header) throw new NotFoundError(label(type), id);
  return header;
}

/** The item and its child counts, never its child edges: the read of the write path. */
export async function readCore<T extends AnyItem>(ctx: UseCaseContext, type: ItemType, id: string): Promise<ItemCore<T>> {
  const core = await ctx.store.items.getCore<T>(ctx.principal.orgId, type, id);
  if (!core) throw new NotFoundError(label(type), id);
  return core;
}

/** Parents and children grouped by connection: the card header, in both directions. */
export function headerView(header: ItemHeader<AnyItem>) {
  const group = (edges: Edge[]) => {
    const byConnection = new Map<string, Edge[]>();
    for (const edge of edges) byConnection.set(edge.connectionId, [...(byConnection.get(edge.connectionId) ?? []), edge]);
    return byConnection;
  };
  // Parents sort before children: a header page that returned no child may have cut the parents.
  const parentsCut = !header.complete && header.children.length === 0;
  const parents = [...group(header.parents)].map(([connectionId, edges]) => ({
    connectionId,
    items: edges.map((e) => ({ ...e.summary, connectedAt: e.connectedAt })),
    ...(parentsCut ? { hasMore: true } : {}),
  }));
  const childGroups = group(header.children);
  for (const connectionId of Object.keys(header.counts))
    if (!childGroups.has(connectionId) && header.counts[connectionId]! > 0) childGroups.set(connectionId, []);
  const children = [...childGroups].map(([connectionId, edges]) => {
    const count = header.counts[connectionId] ?? edges.length;
    return { connectionId, count, items: edges.map((e) => ({ ...e.summary, connectedAt: e.connectedAt })), hasMore: count > edges.length };
  });
  return { parents, children };
}

/** The connection a request names in its body: unknown ids are a 422 that names the field. */
export async function connectionFor(ctx: UseCaseContext, connectionId: string, path = 'body.connectionId'): Promise<Connection> {
  const connection = await ctx.store.connections.get(ctx.principal.orgId, connectionId);
  if (!connection)
    throw new ValidationError(`Connection ${connectionId} does not exist`, [{ path, message: `no connection ${connectionId}`, code: 'connection.unknown' }]);
  return connection;
}

function sameContainer(ref: ContainerRef, type: ItemType, containerId: string) {
  return ref.id === containerId && (ref.type === 'pipe') === (type === 'card');
}

export function assertParent(connection: Connection, type: ItemType, item: AnyItem) {
  if (!sameContainer(connection.parent, type, containerOf(type, item))) {
    throw new ValidationError(`${label(type)} ${item.id} is not in the parent ${connection.parent.type} of connection ${connection.id}`, [
      {
        path: 'body.connectionId',
        message: `connection ${connection.id} has ${connection.parent.type} ${connection.parent.id} as parent, not ${containerOf(type, item)}`,
        code: 'connection.wrongParent',
      },
    ]);
  }
}

/** Reads a would-be child; anything but an item of the connection's child container is a 422 naming it. */
async function childItemFor(ctx: UseCaseContext, connection: Connection, childId: string, path: string): Promise<{ summary: ItemSummary; item: AnyItem }> {
  const type = itemTypeOf(childId);
  const item = await ctx.store.items.get<AnyItem>(ctx.principal.orgId, type, childId);
  if (!item)
    throw new ValidationError(`${label(type)} ${childId} does not exist`, [
      { path, message: `no ${type} ${childId} in this organization`, code: 'connection.unknownChild' },
    ]);
  if (!sameContainer(connection.child, type, containerOf(type, item))) {
    throw new ValidationError(`${childId} cannot be connected through ${connection.name}`, [
      {
        path,
        message: `${childId} is in ${containerOf(type, item)}; connection ${connection.id} takes children of ${connection.child.type} ${connection.child.id}`,
        code: 'connection.wrongChild',
      },
    ]);
  }
  return { summary: summaryOf(type, item), item };
}

function limitOf(connection: Connection) {
  return connection.entries === 'single' ? 1 : connection.maxChildren;
}

const limitReached = (connection: Connection, parentId: string) => () =>
  new ConflictError(
    connection.entries === 'single'
      ? `${parentId} already has its child through ${connection.name} (single entry)`
      : `${parentId} already has the maximum of ${connection.maxChildren} children through ${connection.name}`,
    'connection.limitReached',
    { connectionId: connection.id, limit: limitOf(connection) },
  );

/**
 * Steps that add and remove children of one parent through one connection, each with the
 * answer its failure deserves, plus the guards: the connection and every new child still exist.
 */
export function edgeSteps(
  ctx: UseCaseContext,
  connection: Connection,
  parent: ItemSummary,
  adds: ItemSummary[],
  removes: ItemSummary[],
  now: string,
  /** False when the children are created in the same transaction (nothing to check yet). */
  childrenExist = true,
  /** Per child id: the write that touches it instead of the plain edge touch (it also syncs values). */
  guards?: Map<string, TransactItem>,
): Step[] {
  const { orgId } = ctx.principal;
  const writes = ctx.store.connections.edgeChanges(orgId, connection, parent, adds, removes, now);
  const list: Step[] = [];
  let i = 0;
  for (const child of adds) {
    const duplicate = () =>
      new ConflictError(`${child.id} is already a child of ${parent.id} through ${connection.name}`, 'connection.alreadyConnected', { childId: child.id });
    list.push({ item: writes[i++]!, fail: duplicate }, { item: writes[i++]!, fail: duplicate });
  }
  for (const child of removes) {
    const missing = () => new NotFoundError('Connected child', child.id);
    list.push({ item: writes[i++]!, fail: missing }, { item: writes[i++]!, fail: missing });
  }
  if (i < writes.length) list.push({ item: writes[i]!, fail: limitReached(connection, parent.id) });
  // New edges need a live definition; removing edges is always allowed.
  if (adds.length)
    list.push({
      item: ctx.store.connections.definitionLive(orgId, connection.id),
      fail: () => new ConflictError(`Connection ${connection.id} is being deleted`, 'connection.gone'),
    });
  // The children's versions move on too: their parents are part of what they show.
  for (const child of childrenExist ? adds : []) {
    const guard = guards?.get(child.id);
    list.push({
      item: guard ?? ctx.store.connections.edgeTouch(orgId, child.type, child.id, child.containerId, now, { adding: true, asChild: true }),
      fail: guard
        ? () =>
            new ChildChanged(`${child.id} changed or was deleted while being connected; try again`, 'resource.concurrentChange', {
              childId: child.id,
            })
        : () =>
            new ValidationError(`${child.id} no longer exists`, [
              { path: 'body', message: `${child.id} was deleted meanwhile`, code: 'connection.unknownChild' },
            ]),
    });
  }
  for (const child of removes) {
    list.push({
      item: ctx.store.connections.edgeTouch(orgId, child.type, child.id, undefined, now, { adding: false }),
      fail: () => new NotFoundError('Connected child', child.id),
    });
  }
  return list;
}

/** A child created with its parent edge in one transaction: its create says it has one parent (see PARENT_LINKS). */
export function bornWithParent<T extends { item: TransactItem }>(list: T[], childId: string): T[] {
  return list.map((s) =>
    s.item.Put?.Item?.['id'] === childId && s.item.Put.Item[PARENT_LINKS] === 0
      ? { ...s, item: { Put: { ...s.item.Put, Item: { ...s.item.Put.Item, [PARENT_LINKS]: 1 } } } }
      : s,
  );
}

/** The writes that create an item, each with its failure: the container or phase went away. */
export function createSteps(ctx: UseCaseContext, type: ItemType, item: AnyItem): Step[] {
  const [put, container, phase] = ctx.store.items.createItems(ctx.principal.orgId, type, item);
  const list: Step[] = [
    { item: put!, fail: () => new ConflictError(`${item.id} exists already`, 'resource.exists') },
    { item: container!, fail: () => new NotFoundError(type === 'card' ? 'Pipe' : 'Database', containerOf(type, item)) },
  ];
  if (phase) list.push({ item: phase, fail: () => new ConflictError('The start phase is being deleted; try again', 'phase.closing') });
  return list;
}

/** Required fields left empty: plain values by value, connection fields by their child count. */
export function missingFields(fields: Field[], values: Record<string, unknown>, counts: Record<string, number>, code: string): FieldProblem[] {
  return fields
    .filter((f) => f.required)
    .filter((f) => (f.type === 'connection' ? (counts[f.connectionId ?? ''] ?? 0) === 0 : !isFilled(values[f.id])))
    .map((f) => ({
      path: `values.${f.id}`,
      message: f.type === 'connection' ? `${f.label} needs at least one connected item` : `${f.label} is required`,
      code,
    }));
}

/**
 * The parent's part of a connect, create-child or disconnect (writes that do not otherwise touch
 * it): it still exists where it was read, and its version, the one its ETag shows, moves on.
 * With If-Match, only at that version (412 otherwise).
 */
export function parentStep(ctx: UseCaseContext, parent: ItemSummary, now: string, options: { adding: boolean; ifMatch?: number }): Step {
  const { ifMatch } = options;
  return {
    item: ctx.store.connections.edgeTouch(ctx.principal.orgId, parent.type, parent.id, parent.containerId, now, {
      adding: options.adding,
      ...(ifMatch === undefined ? {} : { expectedVersion: ifMatch }),
    }),
    fail: () => (ifMatch === undefined ? new NotFoundError(label(parent.type), parent.id) : changedMeanwhile(label(parent.type), parent.id, ifMatch)),
  };
}

/** Refuses an edge change up front when If-Match names another version than the one read. */
export function assertIfMatch(type: ItemType, item: AnyItem, ifMatch: number | undefined): void {
  if (ifMatch !== undefined && ifMatch !== item.version) {
    throw new PreconditionFailedError(`${label(type)} ${item.id} is at version ${item.version}, not ${ifMatch}`, { currentVersion: item.version });
  }
}

/** The parent changed between the read and the connect's transaction: read it again. */
class ParentChanged extends ConflictError {}

/**
 * An existing child changed (or went) between the connect's read of it and its transaction. The
 * parent's new edge holds the child's summary as read, and the child's own stream record of that
 * change may have run before the edge existed (or skipped the parents Query, see PARENT_LINKS):
 * so the child's touch is guarded by the version read, and a connect that lost is read again.
 */
export class ChildChanged extends ConflictError {}

/**
 * The child's part of a connect: its version moves on (and it counts one more parent), only if it
 * still shows the summary the parent's edge gets (title, phase, finished; its container is checked
 * too). Not its version: other parents' connects move that on without changing the summary, and
 * would refuse each other. `values`: child field id → the value it must still hold.
 */
function childTouch(ctx: UseCaseContext, child: ItemSummary, now: string, values?: Record<string, unknown>): TransactItem {
  return ctx.store.connections.edgeTouch(ctx.principal.orgId, child.type, child.id, child.containerId, now, {
    adding: true,
    asChild: true,
    expectedSummary: { title: child.title, ...(child.phaseId === undefined ? {} : { phaseId: child.phaseId }), finished: child.finished },
    ...(values ? { expectedValues: values } : {}),
  });
}

/**
 * Connects an existing child. When the connection syncs fields, the child takes the parent's
 * synced values in the same transaction as the edges (and its new title, in the edge summary the
 * parent holds), guarded by the parent's synced values as read: a connect acknowledged is a child
 * that already follows its parent. A parent whose synced values changed meanwhile is read again (a
 * few times, then a 409); other changes of the parent (its other children's connects move its
 * version on) do not refuse it. With If-Match, a 412 as for any connect.
 */
export async function connectExisting(ctx: UseCaseContext, parentType: ItemType, parentId: string, connectionId: string, childId: string, ifMatch?: number) {
  const connection = await connectionFor(ctx, connectionId);
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectOnce(ctx, connection, parentType, parentId, childId, ifMatch);
    } catch (error) {
      if (!(error instanceof ParentChanged || error instanceof ChildChanged)) throw error;
      if (attempt >= 3) {
        const what = error instanceof ChildChanged ? `${label(itemTypeOf(childId))} ${childId}` : `${label(parentType)} ${parentId}`;
        throw new ConflictError(`${what} kept changing; try again`, 'resource.concurrentChange');
      }
    }
  }
}

async function connectOnce(ctx: UseCaseContext, connection: Connection, parentType: ItemType, parentId: string, childId: string, ifMatch: number | undefined) {
  const { item: parentItem } = await readCore<AnyItem>(ctx, parentType, parentId);
  assertIfMatch(parentType, parentItem, ifMatch);
  assertParent(connection, parentType, parentItem);
  if (!connection.canConnectExisting) {
    throw new ValidationError(`Connection ${connection.name} only creates new children`, [
      { path: 'body.childId', message: 'this connection does not connect existing items', code: 'connection.connectExistingDisabled' },
    ]);
  }
  if (childId === parentId)
    throw new ValidationError('An item cannot be its own child', [{ path: 'body.childId', message: 'is the parent itself', code: 'connection.selfChild' }]);
  const { summary: found, item: childItem } = await childItemFor(ctx, connection, childId, 'body.childId');
  const parent = summaryOf(parentType, parentItem);
  const now = nowIso(ctx);
  const sync = await syncOnConnect(ctx, connection, parentType, parentItem, found, childItem, now);
  const child = sync?.summary ?? found;
  // Values synced as read: the parent must still hold them (else they may be stale). Not its
  // version: every connect moves that on, so sibling connects would refuse each other.
  const guardParent: Step =
    sync && ifMatch === undefined
      ? {
          item: ctx.store.connections.edgeTouch(ctx.principal.orgId, parent.type, parent.id, parent.containerId, now, {
            adding: true,
            expectedValues: syncedSources(connection, parentItem),
          }),
          fail: () => new ParentChanged(`${label(parentType)} ${parentId} changed meanwhile`, 'resource.concurrentChange'),
        }
      : parentStep(ctx, parent, now, { adding: true, ...(ifMatch === undefined ? {} : { ifMatch }) });
  const touch = sync?.guard ?? childTouch(ctx, found, now);
  await runSteps(ctx, [...edgeSteps(ctx, connection, parent, [child], [], now, true, new Map([[child.id, touch]])), guardParent]);
  return { connectionId: connection.id, ...child, connectedAt: now };
}

/** The parent's values the connection syncs from, by parent field id, as read. */
function syncedSources(connection: Connection, parentItem: AnyItem): Record<string, unknown> {
  const sources: Record<string, unknown> = {};
  for (const entry of connection.fieldMap) {
    if (entry.sync && entry.parentFieldId !== undefined) sources[entry.parentFieldId] = parentItem.values?.[entry.parentFieldId];
  }
  return sources;
}

/**
 * The child's edge touch extended with the parent's synced values (as the stream's fan-out writes
 * them: the parent version they follow, marked as propagation, the title if the title field is
 * synced), and the child's summary after it; undefined when the child already holds them all.
 */
async function syncOnConnect(
  ctx: UseCaseContext,
  connection: Connection,
  parentType: ItemType,
  parentItem: AnyItem,
  child: ItemSummary,
  childItem: AnyItem,
  now: string,
) {
  if (!connection.fieldMap.some((e) => e.sync && e.parentFieldId !== undefined)) return undefined;
  const parentDef = await containerDefinition(ctx, parentType, containerOf(parentType, parentItem));
  const childDef = await containerDefinition(ctx, child.type, child.containerId);
  const values = syncedValues(parentItem.values, connection, parentDef.fields, childDef.fields);
  const current = childItem.values ?? {};
  const changed = Object.entries(values).filter(([fieldId, value]) =>
    value === null ? current[fieldId] !== undefined && current[fieldId] !== null : !isDeepStrictEqual(current[fieldId], value),
  );
  if (!changed.length) return undefined;
  // The touch already moves the version and updatedAt on; the sync adds its values to it.
  // Only the fields that differ are written: the others must still hold what was read.
  const asRead = Object.fromEntries(Object.keys(values).map((fieldId) => [fieldId, current[fieldId]]));
  const update = childTouch(ctx, child, now, asRead).Update!;
  const names: Record<string, string> = {
    ...update.ExpressionAttributeNames,
    '#values': 'values',
    '#sv': syncVersionAttribute(connection.id),
    '#by': CHANGED_BY,
  };
  const attrValues: Record<string, unknown> = {
    ...update.ExpressionAttributeValues,
    ':pv': parentItem.version,
    ':by': { source: PROPAGATION, connectionId: connection.id, parentId: parentItem.id, parentVersion: parentItem.version },
  };
  const set = [update.UpdateExpression!.replace(/^SET /, ''), '#sv = :pv', '#by = :by'];
  const remove: string[] = [];
  changed.forEach(([fieldId, value], i) => {
    names[`#s${i}`] = fieldId;
    if (value === null) remove.push(`#values.#s${i}`);
    else {
      attrValues[`:s${i}`] = value;
      set.push(`#values.#s${i} = :s${i}`);
    }
  });
  const titleFieldId = 'pipe' in childDef ? childDef.pipe.titleFieldId : childDef.database.titleFieldId;
  const title = titleFieldId && titleFieldId in values ? titleFrom(values[titleFieldId] as never) : undefined;
  if (title && title !== childItem.title) {
    names['#title'] = 'title';
    names['#g2'] = 'GSI2SK';
    attrValues[':title'] = title;
    attrValues[':g2'] = gsi2.titleSortKey(normalizeTitle(title), child.id);
    set.push('#title = :title', '#g2 = :g2');
  }
  const guard: TransactItem = {
    Update: {
      ...update,
      UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: attrValues,
    },
  };
  return { guard, summary: { ...child, ...(title ? { title } : {}), version: childItem.version + 1 } };
}

export async function disconnect(ctx: UseCaseContext, parentType: ItemType, parentId: string, connectionId: string, childId: string, ifMatch?: number) {
  const connection = await ctx.store.connections.get(ctx.principal.orgId, connectionId);
  const parent = await ctx.store.items.get<AnyItem>(ctx.principal.orgId, parentType, parentId);
  if (!parent) throw new NotFoundError(label(parentType), parentId);
  assertIfMatch(parentType, parent, ifMatch);
  if (!connection) throw new NotFoundError('Connection', connectionId);
  const child = { id: childId, type: itemTypeOf(childId) } as ItemSummary;
  const summary = summaryOf(parentType, parent);
  const now = nowIso(ctx);
  await runSteps(ctx, [...edgeSteps(ctx, connection, summary, [], [child], now), parentStep(ctx, summary, now, { adding: false, ifMatch })]);
}

export async function listChildren(
  ctx: UseCaseContext,
  parentType: ItemType,
  parentId: string,
  query: { connectionId: string; limit?: number; cursor?: string },
) {
  const { orgId } = ctx.principal;
  if (!(await ctx.store.items.get(orgId, parentType, parentId))) throw new NotFoundError(label(parentType), parentId);
  const scope = `children:${orgId}:${parentId}:${query.connectionId}`;
  const pk = itemPk(orgId, parentType, parentId);
  // The start key must lie in this connection's range of the parent's child edges.
  const bounds = { sortPrefix: { SK: `${EDGE_PREFIX.child}${query.connectionId}#` } };
  const start = query.cursor ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ PK: pk }), bounds) : undefined;
  const page = await ctx.store.connections.childrenPage(orgId, parentType, parentId, query.connectionId, query.limit ?? 50, start?.key);
  return {
    items: page.items.map((e) => ({ ...e.summary, connectedAt: e.connectedAt })),
    nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null,
  };
}

/** Connectable children by title prefix (GSI2), marking the ones already connected to the parent. */
export async function candidates(
  ctx: UseCaseContext,
  connectionId: string,
  query: { parentId: string; q?: string; finished?: 'true' | 'false'; limit?: number; cursor?: string },
) {
  const { orgId } = ctx.principal;
  const connection = await ctx.store.connections.get(orgId, connectionId);
  if (!connection) throw new NotFoundError('Connection', connectionId);
  const parentType = itemTypeOf(query.parentId);
  const parent = await ctx.store.items.get<AnyItem>(orgId, parentType, query.parentId);
  if (!parent) throw new NotFoundError(label(parentType), query.parentId);
  assertParent(connection, parentType, parent);
  const partition = connection.child.type === 'pipe' ? gsi2.cardTitles(orgId, connection.child.id) : gsi2.recordTitles(orgId, connection.child.id);
  const prefix = normalizeTitle(query.q ?? '');
  const scope = `candidates:${orgId}:${connectionId}:${prefix}:${query.finished ?? ''}`;
  const start = query.cursor ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ GSI2PK: partition })) : undefined;
  const finished = query.finished === undefined ? undefined : query.finished === 'true';
  const page = await ctx.store.connections.searchTitles(partition, prefix, query.limit ?? 20, start?.key, finished);
  const childType: ItemType = connection.child.type === 'pipe' ? 'card' : 'record';
  const found = page.items.map((i) => summaryOf(childType, i as unknown as AnyItem));
  const connected = await ctx.store.connections.connectedAmong(
    orgId,
    parentType,
    query.parentId,
    connectionId,
    found.map((c) => c.id),
  );
  return {
    items: found.filter((c) => c.id !== query.parentId).map((c) => ({ ...c, connected: connected.has(c.id) })),
    nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null,
  };
}

/** Splits a values patch into plain values and connection-field changes. */
export function splitValues(fields: Field[], values: Record<string, unknown> | undefined) {
  const plain: Record<string, unknown> = {};
  const connections = new Map<string, ConnectionFieldChange>();
  const problems: FieldProblem[] = [];
  for (const [fieldId, value] of Object.entries(values ?? {})) {
    const field = fields.find((f) => f.id === fieldId);
    if (field?.type !== 'connection') {
      plain[fieldId] = value;
      continue;
    }
    const change = value === null ? { set: [] } : parseConnectionChange(value);
    if (typeof change === 'string') problems.push({ path: `values.${fieldId}`, message: `${field.label} ${change}`, code: 'field.invalidValue' });
    else connections.set(fieldId, change);
  }
  if (problems.length) throw new ValidationError(`Some values are invalid: ${problems.map((p) => p.message).join('; ')}`, problems, 'validation.invalidValues');
  return { plain, connections };
}

/** splitValues, with the connection values it could not read as problems instead of a throw. */
export function splitValuesChecked(fields: Field[], values: Record<string, unknown> | undefined, list: { add(error: ValidationError): void }) {
  const good: Record<string, unknown> = {};
  for (const [fieldId, value] of Object.entries(values ?? {})) {
    try {
      splitValues(fields, { [fieldId]: value });
      good[fieldId] = value;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      list.add(error);
    }
  }
  return splitValues(fields, good);
}

/**
 * Turns connection-field changes into edge steps. Adding an id that is already connected and
 * removing one that is not are no-ops, so a retried request changes nothing twice. Returns the
 * child counts per connection after the change (for required fields and rules).
 */
export async function connectionFieldSteps(
  ctx: UseCaseContext,
  fields: Field[],
  outgoing: Connection[],
  parentType: ItemType,
  /** The parent as it will read after the write: connected children take its synced values. */
  parentItem: AnyItem,
  /** The item's child counts as read (null: a new item, without children). */
  existing: ItemCore<AnyItem> | null,
  changes: Map<string, ConnectionFieldChange>,
  now: string,
): Promise<{ steps: Step[]; counts: Record<string, number> }> {
  const { orgId } = ctx.principal;
  const parent = summaryOf(parentType, parentItem);
  const counts: Record<string, number> = { ...(existing?.counts ?? {}) };
  const perConnection = new Map<string, { connection: Connection; adds: Set<string>; removes: Set<string>; path: string }>();
  for (const [fieldId, change] of changes) {
    const field = fields.find((f) => f.id === fieldId)!;
    const connection = outgoing.find((c) => c.id === field.connectionId);
    if (!connection) throw new ConflictError(`Field ${field.label} names connection ${field.connectionId}, which no longer exists`, 'connection.gone');
    // Only the edges the change names are read: all of this connection's for a `set`, the named
    // ones (one consistent BatchGetItem) for `add`/`remove`; none for a new item.
    let current: Set<string>;
    if (!existing || (existing.counts[connection.id] ?? 0) === 0) current = new Set();
    else if ('set' in change) current = new Set((await ctx.store.connections.allChildren(orgId, parent.type, parent.id, connection.id)).map((e) => e.childId));
    else current = await ctx.store.connections.connectedAmong(orgId, parent.type, parent.id, connection.id, [...change.add, ...change.remove], true);
    const entry = perConnection.get(connection.id) ?? { connection, adds: new Set<string>(), removes: new Set<string>(), path: `values.${fieldId}` };
    const adds = 'set' in change ? change.set.filter((id) => !current.has(id)) : change.add.filter((id) => !current.has(id));
    const removes = 'set' in change ? [...current].filter((id) => !change.set.includes(id)) : change.remove.filter((id) => current.has(id));
    for (const id of adds) entry.adds.add(id);
    for (const id of removes) entry.removes.add(id);
    perConnection.set(connection.id, entry);
  }
  const list: Step[] = [];
  for (const { connection, adds, removes, path } of perConnection.values()) {
    if (adds.size && !connection.canConnectExisting) {
      throw new ValidationError(`Connection ${connection.name} only creates new children`, [
        { path, message: 'this connection does not connect existing items', code: 'connection.connectExistingDisabled' },
      ]);
    }
    if (adds.has(parent.id))
      throw new ValidationError('An item cannot be its own child', [{ path, message: 'lists the item itself', code: 'connection.selfChild' }]);
    const children: ItemSummary[] = [];
    // As a connect through POST …/children: each new child takes the parent's synced values in
    // this same transaction, at the version the write gives the parent (guarded by it).
    const guards = new Map<string, TransactItem>();
    for (const id of adds) {
      const { summary, item } = await childItemFor(ctx, connection, id, path);
      const sync = await syncOnConnect(ctx, connection, parentType, parentItem, summary, item, now);
      guards.set(id, sync?.guard ?? childTouch(ctx, summary, now));
      children.push(sync?.summary ?? summary);
    }
    const removed = [...removes].map((id) => ({ id, type: itemTypeOf(id) }) as ItemSummary);
    list.push(...edgeSteps(ctx, connection, parent, children, removed, now, true, guards));
    counts[connection.id] = (counts[connection.id] ?? 0) + adds.size - removes.size;
  }
  return { steps: list, counts };
}

/**
 * Synced child fields may only change through their parent: a 409 names the parent. Only the
 * incoming connections whose synced fields the patch touches are looked at (a one-edge Query each).
 */
export async function assertNotSynced(ctx: UseCaseContext, type: ItemType, id: string, incoming: Connection[], patch: Record<string, unknown>) {
  for (const connection of incoming) {
    const synced = connection.fieldMap.find((e) => e.sync && e.childFieldId in patch);
    if (!synced) continue;
    const edge = await ctx.store.items.hasParent(ctx.principal.orgId, type, id, connection.id);
    if (edge) {
      throw new ConflictError(
        `Field ${synced.childFieldId} follows ${edge.summary.title} (${edge.parentId}) through ${connection!.name}; change it there`,
        'field.syncedFromParent',
        { fieldId: synced.childFieldId, parentId: edge.parentId, connectionId: edge.connectionId },
      );
    }
  }
}

/**
 * The writes that refresh, in the move's own transaction, the summary each parent holds of a
 * moved item (phase, finished): a parent's "children finished" rule then reads the truth. One
 * write per parent, never per child; children's copies of the item's summary are the stream's
 * job. Refused (the move retries) if an edge vanished meanwhile.
 */
export function parentSummarySteps(ctx: UseCaseContext, parents: Edge[], summary: ItemSummary, fail: () => AppError): Step[] {
  const { orgId } = ctx.principal;
  return parents.map((e) => ({
    item: ctx.store.connections.summaryRefresh(keys.childEdge(itemPk(orgId, itemTypeOf(e.parentId), e.parentId), e.connectionId, summary.id), summary),
    fail,
  }));
}

export function summaryChanged(a: ItemSummary, b: ItemSummary) {
  return a.title !== b.title || a.phaseId !== b.phaseId || a.finished !== b.finished;
}

/** What was found of an item's pipe or database, or a 404 naming the container. */
function containerFound<T>(type: ItemType, containerId: string, found: T | null): T {
  if (!found) throw new NotFoundError(type === 'card' ? 'Pipe' : 'Database', containerId);
  return found;
}

/** The definition of an item's pipe or database, read fresh. */
export async function containerDefinition(ctx: UseCaseContext, type: ItemType, containerId: string) {
  const { containers } = ctx.store;
  const { orgId } = ctx.principal;
  return containerFound(type, containerId, type === 'card' ? await containers.loadPipe(orgId, containerId) : await containers.loadDatabase(orgId, containerId));
}

/**
 * The definition of an item's pipe or database, possibly this container's cached copy (up to
 * max age old; `cached` says so): only for a values PATCH, which plans again on a fresh one
 * before refusing anything, and for reads that only decide what to show.
 */
export async function recentContainerDefinition(ctx: UseCaseContext, type: ItemType, containerId: string) {
  const { containers } = ctx.store;
  const { orgId } = ctx.principal;
  return containerFound(
    type,
    containerId,
    type === 'card' ? await containers.recentPipe(orgId, containerId) : await containers.recentDatabase(orgId, containerId),
  );
}

/** Removes every edge made through a connection, a page of parents' edges at a time. */
export async function removeEdgesOfConnection(ctx: UseCaseContext, connection: Connection) {
  const { orgId } = ctx.principal;
  for (;;) {
    const page = await ctx.store.connections.edgesOfConnection(orgId, connection.id, 30);
    if (!page.items.length) return;
    const writes: TransactItem[] = [];
    for (const edge of page.items) {
      const parentId = edge['parentId'] as string;
      const childId = edge['childId'] as string;
      const parentPk = itemPk(orgId, itemTypeOf(parentId), parentId);
      writes.push(
        { Delete: { TableName: ctx.store.table, Key: keys.childEdge(parentPk, connection.id, childId) } },
        { Delete: { TableName: ctx.store.table, Key: keys.parentEdge(itemPk(orgId, itemTypeOf(childId), childId), connection.id, parentId) } },
      );
    }
    const parents = new Set(page.items.map((e) => e['parentId'] as string));
    for (const parentId of parents)
      writes.push({ Delete: { TableName: ctx.store.table, Key: keys.childCount(itemPk(orgId, itemTypeOf(parentId), parentId), connection.id) } });
    // Counts of parents whose edges span pages are deleted with the first page and re-deleted
    // (a no-op) later; the checker proves counts match edges once the connection is gone.
    for (let i = 0; i < writes.length; i += 90) await ctx.store.containers.transactLenient(writes.slice(i, i + 90));
  }
}
