/**
 * Deleting an item is one decision. Before anything is written, the delete walks every item its
 * cascade policies reach and asks each one's outgoing connections: a `block` with children
 * anywhere in that subtree refuses the whole delete (409 connection.deleteBlocked) with nothing
 * written. Only then does any write happen (domain/connections/edges.ts deleteWithEdges, or a cascade job).
 *
 * The walk reads only what the decision needs: an item whose container has no outgoing `block`
 * or `cascade` connection cannot refuse and reaches nothing further, so it is not read at all
 * (a 500-child cascade of leaf cards costs the root's child-edge pages and one definition read).
 */
import { nowIso, type UseCaseContext } from '../kernel/context';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../kernel/errors';
import { newId } from '../kernel/ids';
import type { Card } from '../cards/model';
import type { Connection, Edge } from './model';
import type { DbRecord } from '../databases/model';
import type { ItemType } from '../kernel/model';
import { itemPk, itemTypeOf } from './store';
import { TransactionCancelled, type TransactItem } from '../kernel/dynamo';
import type { CascadeJob, PlanEntry } from './jobs-store';
import { keys } from '../kernel/keys';
import { HEADER_PAGE, type ItemHeader } from '../items/store';

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

/** The root is already being deleted by this job: a repeated DELETE follows it. */
export interface AlreadyDeleting {
  jobId: string;
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
export async function planDelete(ctx: UseCaseContext, type: ItemType, id: string, ifMatch: number | undefined): Promise<DeletePlan | AlreadyDeleting> {
  const { orgId } = ctx.principal;
  const rootHeader = await ctx.store.items.getWithEdges<AnyItem>(orgId, type, id, HEADER_PAGE, { includeDeleting: true });
  if (!rootHeader) throw new NotFoundError(label(type), id);
  if (rootHeader.deleting) return { jobId: rootHeader.deleting };
  if (ifMatch !== undefined && rootHeader.item.version !== ifMatch) {
    throw new PreconditionFailedError(`${label(type)} ${id} is at version ${rootHeader.item.version}, not ${ifMatch}`, {
      currentVersion: rootHeader.item.version,
    });
  }
  const definitions = new Map<string, Promise<Connection[]>>();
  const outgoingOf = (nodeType: ItemType, containerId: string) => {
    if (!definitions.has(containerId)) {
      const load = nodeType === 'card' ? ctx.store.containers.loadPipe(orgId, containerId) : ctx.store.containers.loadDatabase(orgId, containerId);
      definitions.set(
        containerId,
        load.then((def) => def?.outgoing ?? []),
      );
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
      // An item known to have no children can neither refuse nor reach further.
      if (node.header && !Object.values(node.header.counts).some((n) => n > 0)) return [];
      const relevant = (await outgoingOf(node.type, containerId)).filter((c) => c.onParentDelete !== 'unlink');
      if (!relevant.length) return [];
      const header = node.header ?? (await readNode(ctx, node));
      // Deleted meanwhile by someone else: nothing of it is left to delete or to refuse.
      if (!header) return [];
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
      throw new ConflictError(
        `Deleting ${label(type).toLowerCase()} ${id} would delete more than ${MAX_CASCADE_ITEMS} items through cascading connections; delete parts of it first`,
        'connection.cascadeTooLarge',
        {
          limit: MAX_CASCADE_ITEMS,
        },
      );
    }
    level = next;
  }
  return { root, nodes };
}

/** A planned item's header (kept on the node); another job's item is a conflict. */
async function readNode(ctx: UseCaseContext, node: PlanNode): Promise<ItemHeader<AnyItem> | null> {
  const header = await ctx.store.items.getWithEdges<AnyItem>(ctx.principal.orgId, node.type, node.id, HEADER_PAGE, { includeDeleting: true });
  if (header?.deleting) {
    throw new ConflictError(
      `${label(node.type)} ${node.id}, which this delete would cascade to, is being deleted by job ${header.deleting}; try again when it has finished`,
      'resource.deleting',
      {
        itemId: node.id,
        jobId: header.deleting,
      },
    );
  }
  if (header) node.header = header;
  return header;
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

// ——— Carrying the decision out ———————————————————————————————————————————————————————————

/**
 * Tunables, one place. A delete whose every write fits one TransactWriteItems (DynamoDB's limit
 * is 100 actions) runs as that one transaction and answers 204; anything larger becomes a job
 * (202). Tests lower them to exercise many job steps on small graphs.
 */
export const cascadeSettings = {
  /** Most writes (and items) a synchronous delete may need. */
  syncMaxWrites: 100,
  /** Plan entries per chunk: one chunk is one job step (one stream invocation). */
  planChunk: 250,
};

/** Fault injection for tests: called before every write a cascade job makes; a throw is a crash there. */
export const cascadeFaults: { beforeWrite?: (what: string) => void | Promise<void> } = {};

export async function beforeWrite(what: string): Promise<void> {
  await cascadeFaults.beforeWrite?.(what);
}

/** A job that has not moved for this long is nudged by a repeated DELETE (its stream record runs again). */
const STALLED_MS = 60_000;

export type DeleteOutcome = { done: true } | { done: false; job: CascadeJob };

/**
 * Deletes an item and everything its cascade policies take with it, as one decision: refused
 * (409) with nothing written, done in one transaction (204), or handed to a durable job (202).
 */
export async function deleteItem(ctx: UseCaseContext, type: ItemType, id: string, ifMatch: number | undefined): Promise<DeleteOutcome> {
  const { orgId } = ctx.principal;
  const plan = await planDelete(ctx, type, id, ifMatch);
  if ('jobId' in plan) {
    const job = await ctx.store.jobs.get(orgId, plan.jobId);
    if (!job) throw new ConflictError(`${label(type)} ${id} is being deleted by job ${plan.jobId}`, 'resource.deleting', { jobId: plan.jobId });
    if (job.status === 'running' && Date.now() - Date.parse(job.updatedAt) > STALLED_MS) await ctx.store.jobs.nudge(orgId, job.id, nowIso(ctx));
    return { done: false, job };
  }
  const writes = await syncWrites(ctx, plan);
  const changed = () =>
    ifMatch !== undefined
      ? new PreconditionFailedError(`${label(type)} ${id} changed meanwhile`)
      : new ConflictError(`${label(type)} ${id} changed while being deleted; try again`, 'resource.concurrentChange');
  if (writes) {
    try {
      await ctx.store.containers.transact(writes);
    } catch (error) {
      if (error instanceof TransactionCancelled) throw changed();
      throw error;
    }
    return { done: true };
  }
  const now = nowIso(ctx);
  const entries: PlanEntry[] = plan.nodes.map((n) => (n.header ? { id: n.id, seq: n.header.edgeSeq ?? null } : { id: n.id }));
  const chunks: PlanEntry[][] = [];
  for (let i = 0; i < entries.length; i += cascadeSettings.planChunk) chunks.push(entries.slice(i, i + cascadeSettings.planChunk));
  const job: CascadeJob = {
    id: newId('job'),
    orgId,
    kind: 'delete',
    root: { type, id },
    status: 'running',
    phase: 'mark',
    cursor: 0,
    chunks: chunks.length,
    total: entries.length,
    deleted: 0,
    step: 0,
    createdBy: ctx.principal.userId,
    createdAt: now,
    updatedAt: now,
  };
  // The job, its plan and the root's mark in one transaction: from here the delete is durable,
  // and the root (unchanged since the walk read it) takes no new edges.
  const header = plan.root.header;
  const rootMark: TransactItem = {
    Update: {
      TableName: ctx.store.table,
      Key: { PK: itemPk(orgId, type, id), SK: '#META' },
      UpdateExpression: 'SET deleting = :job',
      ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(deleting) AND version = :v AND ${header.edgeSeq === undefined ? 'attribute_not_exists(edgeSeq)' : 'edgeSeq = :seq'}`,
      ExpressionAttributeValues: { ':job': job.id, ':v': header.item.version, ...(header.edgeSeq === undefined ? {} : { ':seq': header.edgeSeq }) },
    },
  };
  try {
    await beforeWrite('create');
    await ctx.store.containers.transact([...ctx.store.jobs.createItems(job, chunks), rootMark]);
  } catch (error) {
    if (error instanceof TransactionCancelled) throw changed();
    throw error;
  }
  return { done: false, job };
}

/**
 * Every write of the delete as one transaction, or null when it would not fit: the items with
 * their counts and edges on both sides, the twins and counts their neighbours hold. Items are
 * guarded by the version and edge sequence read, so nothing connected since can dangle.
 */
async function syncWrites(ctx: UseCaseContext, plan: DeletePlan): Promise<TransactItem[] | null> {
  const max = cascadeSettings.syncMaxWrites;
  if (plan.nodes.length > max) return null;
  const { orgId } = ctx.principal;
  const table = ctx.store.table;
  await mapLimit(
    plan.nodes.filter((n) => !n.header),
    WALK_CONCURRENCY,
    (node) => readNode(ctx, node),
  );
  const nodes = plan.nodes.filter((n) => n.header);
  if (nodes.some((n) => !n.header!.complete)) return null;
  const doomed = new Set(nodes.map((n) => n.id));
  const deletedAt = nowIso(ctx);
  const writes: TransactItem[] = [];
  const countChanges = new Map<string, { key: { PK: string; SK: string }; delta: number }>();
  for (const node of nodes) {
    const header = node.header!;
    const pk = itemPk(orgId, node.type, node.id);
    writes.push({
      Delete: {
        TableName: table,
        Key: { PK: pk, SK: '#META' },
        ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(deleting) AND version = :v AND ${header.edgeSeq === undefined ? 'attribute_not_exists(edgeSeq)' : 'edgeSeq = :seq'}`,
        ExpressionAttributeValues: { ':v': header.item.version, ...(header.edgeSeq === undefined ? {} : { ':seq': header.edgeSeq }) },
      },
    });
    // The tombstone goes with the item: a client mirroring the container (updatedSince) sees the deletion.
    writes.push(ctx.store.items.tombstone(orgId, node.type, header.item, deletedAt));
    for (const connectionId of Object.keys(header.counts)) writes.push({ Delete: { TableName: table, Key: keys.childCount(pk, connectionId) } });
    for (const edge of header.children) {
      writes.push({ Delete: { TableName: table, Key: keys.childEdge(pk, edge.connectionId, edge.childId) } });
      if (!doomed.has(edge.childId))
        writes.push({ Delete: { TableName: table, Key: keys.parentEdge(itemPk(orgId, itemTypeOf(edge.childId), edge.childId), edge.connectionId, node.id) } });
    }
    for (const edge of header.parents) {
      writes.push({ Delete: { TableName: table, Key: keys.parentEdge(pk, edge.connectionId, edge.parentId) } });
      if (doomed.has(edge.parentId)) continue;
      const parentPk = itemPk(orgId, itemTypeOf(edge.parentId), edge.parentId);
      // A concurrent disconnect already took this edge (and its count): refuse rather than count twice.
      writes.push({ Delete: { TableName: table, Key: keys.childEdge(parentPk, edge.connectionId, node.id), ConditionExpression: 'attribute_exists(PK)' } });
      const count = keys.childCount(parentPk, edge.connectionId);
      const change = countChanges.get(`${count.PK}|${count.SK}`) ?? { key: count, delta: 0 };
      change.delta -= 1;
      countChanges.set(`${count.PK}|${count.SK}`, change);
    }
    if (writes.length + countChanges.size > max) return null;
  }
  for (const { key, delta } of countChanges.values()) {
    writes.push({
      Update: {
        TableName: table,
        Key: key,
        UpdateExpression: 'ADD #count :delta',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':delta': delta },
      },
    });
  }
  return writes.length <= max ? writes : null;
}

/** A job as clients see it (GET /v1/jobs/{jobId}, and the body of a 202). */
export function jobView(job: CascadeJob) {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    phase: job.phase,
    target: job.root,
    total: job.total,
    deleted: job.deleted,
    ...(job.error ? { error: job.error } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
  };
}

export async function getJob(ctx: UseCaseContext, jobId: string) {
  const job = await ctx.store.jobs.get(ctx.principal.orgId, jobId);
  if (!job) throw new NotFoundError('Job', jobId);
  return jobView(job);
}
