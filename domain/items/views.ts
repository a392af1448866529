/**
 * Connection fields in the items the API returns. A connection field's value is the list of ids
 * connected through its connection. The ids live on the child edges in the item's own partition,
 * not on the item, so every answer that shows items reads them here:
 *
 * - list pages: one Query per item of the page and connection field (its first SHOWN + 1 child
 *   edges, projected to the ids), eventually consistent like the index page itself, at most
 *   PARALLEL in flight. Nothing is read when the container has no connection field.
 * - write answers (create, PATCH, move, batch) and GET: only connections whose child count,
 *   known from the request's own read, is above zero are read, strongly consistent; GET reuses
 *   the children its header already holds.
 *
 * A value shows at most SHOWN ids (the value schema's limit, and what a write takes); an item with
 * more names the field in `valuesTruncated` and GET …/children pages them all.
 *
 * Why read and not denormalise the ids onto the item: edges are also removed by writes that never
 * touch the parent item (a child's delete or its cascade job, a connection's delete), so a copy on
 * the item would need a parent write in each of them (and a backfill of every existing edge); the
 * read is right by construction and costs what bench/query.ts measures per page.
 */
import type { UseCaseContext } from '../kernel/context';
import { LIMITS } from '../fields/field-types';
import type { Field } from '../fields/model';
import type { ItemType } from '../kernel/model';

/** Item Queries in flight at once for one page (a page holds at most 100 items). */
export const PARALLEL = 16;

/** Connected ids a value shows at most. */
export const SHOWN = LIMITS.listValues;

interface ItemView {
  id: string;
  values: Record<string, unknown>;
}

export interface ConnectionRead<V extends ItemView> {
  view: V;
  /** Child counts per connection when the caller read them; undefined: unknown, read the edges. */
  counts?: Record<string, number> | undefined;
  /** Per connection: every child id, when the caller holds them all already (GET's header). */
  known?: Map<string, string[]>;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const connectionFieldsOf = (fields: Field[]) => fields.filter((f) => f.type === 'connection' && f.connectionId);

/**
 * The views with each connection field's value set to its connected ids (absent when none, as
 * before any was connected). `fields` may be a loader: it runs only if some item has children.
 */
export async function withConnectionIds<V extends ItemView>(
  ctx: UseCaseContext,
  type: ItemType,
  fields: Field[] | (() => Promise<Field[]>),
  items: Array<ConnectionRead<V>>,
  options: { consistent: boolean },
): Promise<Array<V & { valuesTruncated?: string[] }>> {
  const mayHave = (i: ConnectionRead<V>) => !i.counts || Object.values(i.counts).some((n) => n > 0);
  if (!items.some(mayHave)) return items.map((i) => i.view);
  const connectionFields = connectionFieldsOf(typeof fields === 'function' ? await fields() : fields);
  if (!connectionFields.length) return items.map((i) => i.view);
  const connectionIds = [...new Set(connectionFields.map((f) => f.connectionId!))];
  return pool(items, PARALLEL, async ({ view, counts, known }) => {
    const wanted = counts ? connectionIds.filter((id) => (counts[id] ?? 0) > 0) : connectionIds;
    if (!wanted.length) return view;
    const ids = new Map<string, string[]>();
    await Promise.all(
      wanted.map(async (connectionId) => {
        const held = known?.get(connectionId);
        ids.set(
          connectionId,
          held ??
            (await ctx.store.connections.childIds(ctx.principal.orgId, type, view.id, connectionId, { limit: SHOWN + 1, consistent: options.consistent })),
        );
      }),
    );
    const values = { ...view.values };
    const truncated: string[] = [];
    for (const field of connectionFields) {
      const connected = ids.get(field.connectionId!) ?? [];
      if (!connected.length) {
        delete values[field.id];
        continue;
      }
      values[field.id] = connected.slice(0, SHOWN);
      if (connected.length > SHOWN) truncated.push(field.id);
    }
    return { ...view, values, ...(truncated.length ? { valuesTruncated: truncated } : {}) };
  });
}

/** Whether a create's values touch a connection field (only then can the new item have children). */
export function touchesConnections(fields: Field[], values: Record<string, unknown> | undefined): boolean {
  return values !== undefined && connectionFieldsOf(fields).some((f) => f.id in values);
}

/** What a GET's header already says about its connections: counts, and the ids of connections it holds whole. */
export function fromHeader(header: { counts: Record<string, number>; children: Array<{ connectionId: string; childId: string }> }) {
  const known = new Map<string, string[]>();
  for (const [connectionId, count] of Object.entries(header.counts)) {
    const shown = header.children.filter((e) => e.connectionId === connectionId).map((e) => e.childId);
    if (shown.length >= count) known.set(connectionId, shown);
  }
  return { counts: header.counts, known };
}
