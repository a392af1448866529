/**
 * One step of a cascade-delete job: one plan chunk of the current phase, then the job's next
 * state, stored only by the holder of the current step. The job item's stream record triggers
 * the next step, so a job walks through its phases one bounded chunk per invocation:
 *
 *   mark    each planned item gets the job's mark (guarded by the edge sequence the walk read:
 *           an item that was connected since refuses it). A refused mark is the only way the
 *           delete can still be refused — it goes to unmark, with the reason.
 *   delete  (the commit point: every item is marked, none can gain an edge) each item's edges
 *           go in all-or-nothing groups with the counts they affect, then its counts and #META.
 *   unmark  a refused job gives every item it marked back, and ends `refused`.
 *
 * Every write is idempotent: a crash anywhere re-runs the step and reaches the same end state;
 * the graph invariants hold between any two writes (marked items are a documented state).
 */
import { beforeWrite, mapLimit } from './cascade';
import { ConflictError, type AppError } from '../kernel/errors';
import type { Connection } from './model';
import type { ItemType } from '../kernel/model';
import type { Store } from '../store';
import { itemPk, itemTypeOf } from './store';
import { TransactionCancelled, type Item, type TransactItem } from '../kernel/dynamo';
import type { CascadeJob, PlanEntry } from './jobs-store';
import { ENTITY, keys } from '../kernel/keys';

const MARK_CONCURRENCY = 25;
const DELETE_CONCURRENCY = 8;
/** Edges per transaction: each edge is two deletes, plus one count update per group. */
const CHILD_EDGES_PER_TRANSACTION = 45;
const PARENT_EDGES_PER_TRANSACTION = 30;
const PARTITION_PAGE = 200;

const label = (type: ItemType) => (type === 'card' ? 'Card' : 'Record');

/** Runs the job's current step if the stored job is still at it (a replayed record does nothing). */
export async function runCascadeStep(store: Store, seen: CascadeJob): Promise<void> {
  const job = await store.jobs.get(seen.orgId, seen.id);
  if (job?.status !== 'running' || job.step !== seen.step) return;
  const next = await stepOf(store, job);
  await beforeWrite(`advance:${job.step}`);
  await store.jobs.advance({ ...next, step: job.step + 1, updatedAt: new Date().toISOString() }, job.step);
}

async function stepOf(store: Store, job: CascadeJob): Promise<CascadeJob> {
  const entries = await store.jobs.chunk(job.orgId, job.id, job.cursor);
  const now = new Date().toISOString();
  if (job.phase === 'mark') {
    const refusals = await mapLimit(entries, MARK_CONCURRENCY, (entry) => mark(store, job, entry));
    const refusal = refusals.find((r): r is AppError => r !== undefined);
    if (refusal) {
      return { ...job, phase: 'unmark', cursor: 0, markedThrough: job.cursor, error: { code: refusal.code, detail: refusal.message, ...refusal.extra } };
    }
    return job.cursor + 1 < job.chunks ? { ...job, cursor: job.cursor + 1 } : { ...job, phase: 'delete', cursor: 0 };
  }
  if (job.phase === 'delete') {
    await mapLimit(entries, DELETE_CONCURRENCY, (entry) => deleteNode(store, job, entry));
    // Every entry of a finished chunk is gone (by this run, an earlier crashed one, or meanwhile).
    const deleted = job.deleted + entries.length;
    return job.cursor + 1 < job.chunks ? { ...job, cursor: job.cursor + 1, deleted } : { ...job, deleted, phase: 'done', status: 'succeeded', finishedAt: now };
  }
  if (job.phase === 'unmark') {
    await mapLimit(entries, MARK_CONCURRENCY, async (entry) => {
      await beforeWrite(`unmark:${entry.id}`);
      await store.containers.transactOrSkip([store.jobs.unmarkUpdate(job.orgId, itemTypeOf(entry.id), entry.id, job.id)]);
    });
    return job.cursor + 1 <= (job.markedThrough ?? 0) ? { ...job, cursor: job.cursor + 1 } : { ...job, phase: 'done', status: 'refused', finishedAt: now };
  }
  return { ...job, status: job.error ? 'refused' : 'succeeded' };
}

/** Marks one planned item; returns why the delete must be refused, if it must. */
async function mark(store: Store, job: CascadeJob, entry: PlanEntry): Promise<AppError | undefined> {
  const type = itemTypeOf(entry.id);
  try {
    await beforeWrite(`mark:${entry.id}`);
    await store.containers.transact([store.jobs.markUpdate(job.orgId, type, entry, job.id)]);
    return undefined;
  } catch (error) {
    if (!(error instanceof TransactionCancelled)) throw error;
  }
  const meta = await store.jobs.rawMeta(job.orgId, type, entry.id);
  // Deleted meanwhile by someone else: its edges went with it, nothing is left to do.
  if (!meta) return undefined;
  if (typeof meta['deleting'] === 'string' && meta['deleting'] !== job.id) {
    return new ConflictError(`${label(type)} ${entry.id} is being deleted by job ${meta['deleting']}; try again when it has finished`, 'resource.deleting', {
      itemId: entry.id,
      jobId: meta['deleting'],
    });
  }
  // It was connected since the walk: a block there refuses; anything else is a concurrent change.
  const def =
    type === 'card'
      ? await store.containers.loadPipe(job.orgId, meta['pipeId'] as string)
      : await store.containers.loadDatabase(job.orgId, meta['databaseId'] as string);
  const header = await store.items.getWithEdges(job.orgId, type, entry.id);
  const blocking = (def?.outgoing ?? []).find((c: Connection) => c.onParentDelete === 'block' && (header?.counts[c.id] ?? 0) > 0);
  if (blocking) {
    const count = header!.counts[blocking.id]!;
    return new ConflictError(
      `${entry.id} was connected to ${count} child${count === 1 ? '' : 'ren'} through ${blocking.name}, which blocks deleting the parent, while the delete of ${job.root.id} was being prepared; nothing was deleted`,
      'connection.deleteBlocked',
      { connectionId: blocking.id, childCount: count, blockedItemId: entry.id },
    );
  }
  return new ConflictError(
    `${entry.id} gained connections while the delete of ${job.root.id} was being prepared; nothing was deleted, try again`,
    'resource.concurrentChange',
    { itemId: entry.id },
  );
}

/** Removes one marked item with all its edges; true if this call deleted its #META. */
async function deleteNode(store: Store, job: CascadeJob, entry: PlanEntry): Promise<boolean> {
  const { orgId } = job;
  const type = itemTypeOf(entry.id);
  const pk = itemPk(orgId, type, entry.id);
  const counts: Item[] = [];
  let startKey: Item | undefined;
  let first = true;
  let meta: Item | undefined;
  do {
    const page = await store.jobs.partitionPage(orgId, type, entry.id, PARTITION_PAGE, startKey);
    if (first) {
      meta = page.items.find((i) => i['SK'] === '#META');
      // Gone already (an earlier run), or never ours: nothing to do.
      if (!meta || meta['deleting'] !== job.id) return false;
      first = false;
    }
    counts.push(...page.items.filter((i) => i['entity'] === ENTITY.childCount));
    await removeChildEdges(
      store,
      pk,
      page.items.filter((i) => i['entity'] === ENTITY.childEdge),
    );
    await removeParentEdges(
      store,
      orgId,
      pk,
      entry.id,
      page.items.filter((i) => i['entity'] === ENTITY.parentEdge),
    );
    startKey = page.lastKey;
  } while (startKey);
  const table = store.table;
  const last: TransactItem[] = [
    { Delete: { TableName: table, Key: { PK: pk, SK: '#META' }, ConditionExpression: 'deleting = :job', ExpressionAttributeValues: { ':job': job.id } } },
    ...counts.map((c) => ({ Delete: { TableName: table, Key: { PK: c['PK'] as string, SK: c['SK'] as string } } })),
    // With the #META delete, so exactly once: a replay whose delete is refused writes none either.
    store.items.tombstone(orgId, type, meta as unknown as { id: string; version: number; pipeId?: string; databaseId?: string }, new Date().toISOString()),
  ];
  await beforeWrite(`meta:${entry.id}`);
  try {
    await store.containers.transact(last);
    return true;
  } catch (error) {
    if (error instanceof TransactionCancelled) return false;
    throw error;
  }
}

/** Child edges of the item: both halves and the item's count, all-or-nothing per group. */
async function removeChildEdges(store: Store, pk: string, edges: Item[]) {
  const table = store.table;
  const byConnection = new Map<string, Item[]>();
  for (const e of edges) byConnection.set(e['connectionId'] as string, [...(byConnection.get(e['connectionId'] as string) ?? []), e]);
  for (const [connectionId, list] of byConnection) {
    const group = (part: Item[]): TransactItem[] => [
      ...part.flatMap((e): TransactItem[] => [
        { Delete: { TableName: table, Key: keys.childEdge(pk, connectionId, e['childId'] as string), ConditionExpression: 'attribute_exists(PK)' } },
        {
          Delete: {
            TableName: table,
            Key: keys.parentEdge(
              itemPk(e['orgId'] as string, itemTypeOf(e['childId'] as string), e['childId'] as string),
              connectionId,
              e['parentId'] as string,
            ),
          },
        },
      ]),
      countUpdate(table, keys.childCount(pk, connectionId), -part.length),
    ];
    for (let i = 0; i < list.length; i += CHILD_EDGES_PER_TRANSACTION)
      await removeGroups(store, list.slice(i, i + CHILD_EDGES_PER_TRANSACTION), group, 'children');
  }
}

/** Parent edges of the item: the parent's half and count, and the item's own half. */
async function removeParentEdges(store: Store, orgId: string, pk: string, id: string, edges: Item[]) {
  const table = store.table;
  const group = (part: Item[]): TransactItem[] =>
    part.flatMap((e): TransactItem[] => {
      const parentId = e['parentId'] as string;
      const connectionId = e['connectionId'] as string;
      const parentPk = itemPk(orgId, itemTypeOf(parentId), parentId);
      return [
        { Delete: { TableName: table, Key: keys.childEdge(parentPk, connectionId, id), ConditionExpression: 'attribute_exists(PK)' } },
        countUpdate(table, keys.childCount(parentPk, connectionId), -1),
        { Delete: { TableName: table, Key: keys.parentEdge(pk, connectionId, parentId) } },
      ];
    });
  for (let i = 0; i < edges.length; i += PARENT_EDGES_PER_TRANSACTION)
    await removeGroups(store, edges.slice(i, i + PARENT_EDGES_PER_TRANSACTION), group, 'parents');
}

/**
 * One transaction for the batch; if a condition is already settled (an earlier run, a
 * concurrent disconnect took an edge), edge by edge, skipping the ones already gone.
 */
async function removeGroups(store: Store, part: Item[], group: (part: Item[]) => TransactItem[], what: string) {
  await beforeWrite(`edges:${what}`);
  try {
    await store.containers.transact(group(part));
    return;
  } catch (error) {
    if (!(error instanceof TransactionCancelled)) throw error;
  }
  for (const edge of part) {
    await beforeWrite(`edge:${what}`);
    await store.containers.transactOrSkip(group([edge]));
  }
}

function countUpdate(table: string, key: { PK: string; SK: string }, delta: number): TransactItem {
  return {
    Update: {
      TableName: table,
      Key: key,
      UpdateExpression: 'ADD #count :delta',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':delta': delta },
    },
  };
}
