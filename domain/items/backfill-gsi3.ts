/**
 * Backfill of GSI3 (the change log of a pipe or database: `sort=updatedAt`, `updatedSince`).
 * Cards and records written before GSI3 existed carry no GSI3PK, so the index never lists them;
 * their updates (SET updatedAt, version…) do not add it either. This gives each one its key.
 *
 * - Paged and parallel: a Scan in `segments` segments, `pageSize` items evaluated per page,
 *   filtered to cards and records without GSI3PK and projected to what the key needs.
 * - Idempotent: each write is `SET GSI3PK` conditioned on the item still existing, still being
 *   that entity and still having no GSI3PK; a second run (or a replayed page) writes nothing.
 *   An item deleted or re-keyed meanwhile is skipped. The write changes no value, title, version
 *   or updatedAt: the stream sees a MODIFY that yields no event, activity or fan-out.
 * - Resumable: the state (each segment's last evaluated key) is handed to `onPage` after every
 *   page; a run started from a saved state continues where that one stopped.
 */
import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, type Item } from '../kernel/dynamo';
import { ENTITY, gsi3 } from '../kernel/keys';

export interface BackfillState {
  table: string;
  segments: Array<{ startKey?: Item; done: boolean }>;
  scanned: number;
  updated: number;
  skipped: number;
}

export interface BackfillOptions {
  segments?: number;
  pageSize?: number;
  /** Writes in flight at once per segment. */
  parallel?: number;
  /** A state a previous run saved: continue from it (its segment count wins). */
  state?: BackfillState;
  /** Called after every page with the state to save. */
  onPage?: (state: BackfillState) => Promise<void> | void;
  /** Stop (resumably) after this many pages in all: for tests and for a trial run. */
  maxPages?: number;
}

export const newBackfillState = (table: string, segments: number): BackfillState => ({
  table,
  segments: Array.from({ length: segments }, () => ({ done: false })),
  scanned: 0,
  updated: 0,
  skipped: 0,
});

/** The GSI3 partition an item belongs to, or undefined when it lacks what the key needs. */
function changeLogOf(item: Item): string | undefined {
  const orgId = item['orgId'];
  if (typeof orgId !== 'string') return undefined;
  if (item['entity'] === ENTITY.card && typeof item['pipeId'] === 'string') return gsi3.changesOfPipe(orgId, item['pipeId']);
  if (item['entity'] === ENTITY.record && typeof item['databaseId'] === 'string') return gsi3.changesOfDatabase(orgId, item['databaseId']);
  return undefined;
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Runs (or continues) the backfill; returns the final state (`complete` when every segment is done). */
export async function backfillGsi3(doc: DynamoDBDocumentClient, table: string, options: BackfillOptions = {}): Promise<BackfillState & { complete: boolean }> {
  const state = options.state ?? newBackfillState(table, options.segments ?? 4);
  if (state.table !== table) throw new Error(`The saved state is for table ${state.table}, not ${table}`);
  const pageSize = options.pageSize ?? 500;
  const parallel = options.parallel ?? 10;
  let pages = 0;
  const budgetLeft = () => options.maxPages === undefined || pages < options.maxPages;

  const runSegment = async (segment: number) => {
    const progress = state.segments[segment]!;
    while (!progress.done && budgetLeft()) {
      pages++;
      const page = await doc.send(
        new ScanCommand({
          TableName: table,
          Segment: segment,
          TotalSegments: state.segments.length,
          Limit: pageSize,
          ExclusiveStartKey: progress.startKey,
          FilterExpression: '(entity = :card OR entity = :record) AND attribute_not_exists(GSI3PK)',
          ProjectionExpression: 'PK, SK, entity, orgId, pipeId, databaseId',
          ExpressionAttributeValues: { ':card': ENTITY.card, ':record': ENTITY.record },
        }),
      );
      state.scanned += page.ScannedCount ?? 0;
      await pool((page.Items ?? []) as Item[], parallel, async (item) => {
        const partition = changeLogOf(item);
        if (!partition) {
          state.skipped++;
          return;
        }
        try {
          await doc.send(
            new UpdateCommand({
              TableName: table,
              Key: { PK: item['PK'], SK: item['SK'] },
              UpdateExpression: 'SET GSI3PK = :pk',
              ConditionExpression: 'attribute_exists(PK) AND entity = :entity AND attribute_not_exists(GSI3PK)',
              ExpressionAttributeValues: { ':pk': partition, ':entity': item['entity'] },
            }),
          );
          state.updated++;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          state.skipped++;
        }
      });
      // The key is saved only once the page's writes are done: a crash replays the page, harmlessly.
      if (page.LastEvaluatedKey) progress.startKey = page.LastEvaluatedKey as Item;
      else {
        delete progress.startKey;
        progress.done = true;
      }
      await options.onPage?.(state);
    }
  };
  await Promise.all(state.segments.map((_, i) => runSegment(i)));
  return { ...state, complete: state.segments.every((s) => s.done) };
}
