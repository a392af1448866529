/**
 * Deleting an item is one decision. Before anything is written, the delete walks every item its
 * cascade policies reach and asks each one's outgoing connections: a `block` with children
 * anywhere in that subtree refuses the whole delete (409 connection.deleteBlocked) with nothing
 * written. Only then does any write happen (domain/edges.ts deleteWithEdges, or a cascade job).
 *
 * The walk reads only what the decision needs: an item whose container has no outgoing `block`
 * or `cascade` connection cannot refuse and reaches nothing further, so it is not read at all
 * (a 500-child cascade of leaf cards costs the root's child-edge pages and one definition read).
 */
import type { UseCaseContext } from './context';
import { ConflictError, NotFoundError, PreconditionFailedError } from './errors';
import type { Card, Connection, DbRecord, Edge, ItemType } from './model';
import { itemTypeOf } from './store/connections';
import type { ItemHeader } from './store/items';

type AnyItem = Card | DbRecord;

/** The most items one delete may take with it (root included); more is refused before any write. */
export const MAX_CASCADE_ITEMS = 10_000;
/** Reads in flight at once while walking the subtree. */
const WALK_CONCURRENCY = 16;

export interface PlanNode {
  type: ItemType;
  id: string;
  /** How it was reached: the parent and the cascading connection (absent for the root). */
  via?: { parentId: string; connectionId: string };
  /** Read during the walk (items that could refuse or reach further); absent for leaves not read. */
  header?: ItemHeader<AnyItem>;
}

export interface DeletePlan {
  root: PlanNode & { header: ItemHeader<AnyItem> };
  /** Every item the delete removes, root first, in breadth-first order. */
  nodes: PlanNode[];
}

const label = (type: ItemType) => (type === 'card' ? 'Card' : 'Record');

/** Runs `fn` over `items` with at most `limit` in flight; resolves in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Walks the subtree a delete would remove and refuses (409) if any policy in it blocks. Reads
 * only; throws 404 for a missing root, 412 for a stale If-Match.
 */
export async function planDelete(ctx: UseCaseContext, type: ItemType, id: string, ifMatch: number | undefined): Promise<DeletePlan> {
  const { orgId } = ctx.principal;
  const rootHeader = await ctx.store.items.getWithEdges<AnyItem>(orgId, type, id);
  if (!rootHeader) throw new NotFoundError(label(type), id);
  if (ifMatch !== undefined && rootHeader.item.version !== ifMatch) {
    throw new PreconditionFailedError(`${label(type)} ${id} is at version ${rootHeader.item.version}, not ${ifMatch}`, { currentVersion: rootHeader.item.version });
  }
  const definitions = new Map<string, Promise<Connection[]>>();
  const outgoingOf = (nodeType: ItemType, containerId: string) => {
    if (!definitions.has(containerId)) {
      const load = nodeType === 'card' ? ctx.store.containers.loadPipe(orgId, containerId) : ctx.store.containers.loadDatabase(orgId, containerId);
      definitions.set(containerId, load.then((def) => def?.outgoing ?? []));
    }
    return definitions.get(containerId)!;
  };
  const root: DeletePlan['root'] = { type, id, header: rootHeader };
  const nodes: PlanNode[] = [root];
  const seen = new Set<string>([id]);
  const path = new Map<string, string[]>([[id, [id]]]);
  // Level by level: each item of a level is checked, and its cascading children form the next.
  let level: Array<{ node: PlanNode; containerId: string }> = [{ node: root, containerId: containerOf(type, rootHeader.item) }];
  while (level.length) {
    const reached = await mapLimit(level, WALK_CONCURRENCY, async ({ node, containerId }) => {
      const relevant = (await outgoingOf(node.type, containerId)).filter((c) => c.onParentDelete !== 'unlink');
      if (!relevant.length) return [];
      const header = node.header ?? (await ctx.store.items.getWithEdges<AnyItem>(orgId, node.type, node.id));
      // Deleted meanwhile by someone else: nothing of it is left to delete or to refuse.
      if (!header) return [];
      node.header = header;
      for (const connection of relevant.filter((c) => c.onParentDelete === 'block')) {
        const count = header.counts[connection.id] ?? 0;
        if (count > 0) throw blocked(node, path.get(node.id) ?? [node.id], connection, count);
      }
      const found: Edge[] = [];
      for (const connection of relevant.filter((c) => c.onParentDelete === 'cascade')) {
        if (!(header.counts[connection.id] ?? 0)) continue;
        found.push(
          ...(header.complete
            ? header.children.filter((e) => e.connectionId === connection.id)
            : await ctx.store.connections.allChildren(orgId, node.type, node.id, connection.id)),
        );
      }
      return found.map((edge) => ({ edge, from: node }));
    });
    const next: typeof level = [];
    for (const { edge, from } of reached.flat()) {
      if (seen.has(edge.childId)) continue;
      seen.add(edge.childId);
      path.set(edge.childId, [...(path.get(from.id) ?? []), edge.childId]);
      const child: PlanNode = { type: itemTypeOf(edge.childId), id: edge.childId, via: { parentId: from.id, connectionId: edge.connectionId } };
      nodes.push(child);
      next.push({ node: child, containerId: edge.summary.containerId });
    }
    if (nodes.length > MAX_CASCADE_ITEMS) {
      throw new ConflictError(`Deleting ${label(type).toLowerCase()} ${id} would delete more than ${MAX_CASCADE_ITEMS} items through cascading connections; delete parts of it first`, 'connection.cascadeTooLarge', {
        limit: MAX_CASCADE_ITEMS,
      });
    }
    level = next;
  }
  return { root, nodes };
}

function containerOf(type: ItemType, item: AnyItem): string {
  return type === 'card' ? (item as Card).pipeId : (item as DbRecord).databaseId;
}

function blocked(node: PlanNode, route: string[], connection: Connection, count: number): ConflictError {
  const children = `${count} child${count === 1 ? '' : 'ren'}`;
  const isRoot = route.length <= 1;
  const message = isRoot
    ? `${label(node.type)} ${node.id} still has ${children} through ${connection.name}, which blocks deleting the parent`
    : `Deleting ${route[0]} would delete ${node.id} through cascading connections (${route.join(' → ')}), and ${node.id} still has ${children} through ${connection.name}, which blocks deleting the parent; nothing was deleted`;
  return new ConflictError(message, 'connection.deleteBlocked', {
    connectionId: connection.id,
    childCount: count,
    ...(isRoot ? {} : { blockedItemId: node.id, cascadePath: route }),
  });
}
