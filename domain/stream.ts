/**
 * What the table's stream does with a changed card or record: refresh the summaries its
 * neighbours hold, and carry synced field values down to its children, a bounded chunk per
 * invocation, continuing from a job item when a parent has more children than one chunk.
 * Everything here is idempotent and guarded by the parent's version, so replays, retries and
 * out-of-order deliveries leave the same state.
 */
import { isDeepStrictEqual } from 'node:util';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { titleFrom } from './field-defs';
import { normalizeTitle } from './fields';
import type { Card, Connection, DatabaseDefinition, DbRecord, ItemSummary, ItemType, PipeDefinition } from './model';
import { planChildUpdates, summaryDiffers } from './propagation';
import type { Store } from './store';
import { itemPk, itemTypeOf } from './store/connections';
import { isConditionFailure, queryAll, queryPage, type Item } from './store/dynamo';
import { PARENTS_REFRESHED } from './store/items';
import { EDGE_PREFIX, ENTITY, gsi2, keys } from './store/keys';

/** Children handled per invocation before the rest is handed to a job item. */
export const FAN_OUT_CHUNK = 100;
/** Attribute that marks writes made by propagation, so automations and webhooks can skip them. */
export const CHANGED_BY = 'changedBy';
export const PROPAGATION = 'propagation';

type AnyItem = Card | DbRecord;

export interface PropagationJob {
  orgId: string;
  parentType: ItemType;
  parentId: string;
  parentVersion: number;
  /** The parent's new summary, to write into children's parent edges (absent: unchanged). */
  summary?: ItemSummary;
  /** Per connection id: child field id → value (null removes). */
  values: Record<string, Record<string, unknown>>;
  cursor?: Item;
  /** How many chunks are done; only the holder of step n may store step n + 1. */
  step?: number;
}

export function summaryOfItem(type: ItemType, item: AnyItem): ItemSummary {
  const card = item as Card;
  return {
    id: item.id,
    type,
    containerId: type === 'card' ? card.pipeId : (item as DbRecord).databaseId,
    title: item.title,
    ...(type === 'card' ? { phaseId: card.phaseId } : {}),
    finished: type === 'card' ? card.finishedAt !== undefined : false,
    version: item.version,
  };
}

export class StreamWork {
  /** Container definitions read during one invocation; they change rarely and are re-read per batch. */
  private readonly definitions = new Map<string, Promise<PipeDefinition | DatabaseDefinition | null>>();
  /** Children whose synced values this work wrote (read by the processor for its metrics). */
  childrenWritten = 0;

  constructor(
    private readonly store: Store,
    private readonly doc: DynamoDBDocumentClient,
  ) {}

  private definition(orgId: string, type: ItemType, containerId: string) {
    const key = `${orgId}|${containerId}`;
    if (!this.definitions.has(key)) {
      this.definitions.set(key, type === 'card' ? this.store.containers.loadPipe(orgId, containerId) : this.store.containers.loadDatabase(orgId, containerId));
    }
    return this.definitions.get(key)!;
  }

  /** A card or record changed (MODIFY): plan the work and do the first chunk of it. */
  async itemChanged(orgId: string, type: ItemType, before: AnyItem, after: AnyItem): Promise<void> {
    const oldSummary = summaryOfItem(type, before);
    const newSummary = summaryOfItem(type, after);
    const summaryChanged = summaryDiffers(oldSummary, newSummary);
    // A move gives its parents the new summary in its own transaction, and says so on the item.
    const parentsCurrent = (after as unknown as Record<string, unknown>)[PARENTS_REFRESHED] === after.version;
    if (summaryChanged && !parentsCurrent) await this.refreshParentsOf(orgId, type, after.id, newSummary);
    const valuesChanged = !isDeepStrictEqual(before.values, after.values);
    // A connect bumps only the edge sequence: nothing to carry anywhere.
    if (!summaryChanged && !valuesChanged) return;
    const def = await this.definition(orgId, type, newSummary.containerId);
    const outgoing: Connection[] = def?.outgoing ?? [];
    // Children exist only through outgoing connections: without any there is nobody to tell.
    if (!outgoing.length) return;
    const childDefs = new Map<string, PipeDefinition | DatabaseDefinition | null>();
    for (const connection of outgoing) {
      if (connection.fieldMap.some((e) => e.sync)) {
        childDefs.set(connection.id, await this.definition(orgId, connection.child.type === 'pipe' ? 'card' : 'record', connection.child.id));
      }
    }
    const plan = planChildUpdates(before.values, after.values, outgoing, def?.fields ?? [], (c) => childDefs.get(c.id)?.fields ?? []);
    if (!summaryChanged && plan.size === 0) return;
    await this.runChunk({
      orgId,
      parentType: type,
      parentId: after.id,
      parentVersion: after.version,
      ...(summaryChanged ? { summary: newSummary } : {}),
      values: Object.fromEntries([...plan].map(([id, p]) => [id, p.values])),
    });
  }

  /** Parents hold a summary of this item in their child edges. */
  private async refreshParentsOf(orgId: string, type: ItemType, id: string, summary: ItemSummary) {
    const parents = await queryAll(this.doc, {
      TableName: this.store.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': itemPk(orgId, type, id), ':prefix': EDGE_PREFIX.parent },
      ProjectionExpression: 'connectionId, parentId',
    });
    await this.store.connections.refreshSummaries(
      parents.map((p) => keys.childEdge(itemPk(orgId, itemTypeOf(p['parentId'] as string), p['parentId'] as string), p['connectionId'] as string, id)),
      summary,
    );
  }

  /**
   * One chunk of a fan-out: the next page of the parent's child edges. Returns the job that
   * continues it, if any, which the caller stores so its own stream record carries on.
   */
  async runChunk(job: PropagationJob, limit = FAN_OUT_CHUNK): Promise<PropagationJob | undefined> {
    const { orgId } = job;
    const page = await queryPage(this.doc, {
      TableName: this.store.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': itemPk(orgId, job.parentType, job.parentId), ':prefix': EDGE_PREFIX.child },
      ConsistentRead: true,
      Limit: limit,
      ExclusiveStartKey: job.cursor,
    });
    const edges = page.items.filter((e) => job.summary || job.values[e['connectionId'] as string]);
    for (let i = 0; i < edges.length; i += 25) {
      await Promise.all(
        edges.slice(i, i + 25).map(async (edge) => {
          const childId = edge['childId'] as string;
          const connectionId = edge['connectionId'] as string;
          const childType = itemTypeOf(childId);
          if (job.summary) {
            await this.store.connections.refreshSummaries([keys.parentEdge(itemPk(orgId, childType, childId), connectionId, job.parentId)], job.summary);
          }
          const values = job.values[connectionId];
          if (values) await this.syncChild(orgId, childType, childId, (edge['summary'] as ItemSummary).containerId, connectionId, job, values);
        }),
      );
    }
    const current = keys.propagationJob(orgId, job.parentId, job.parentVersion);
    if (!page.lastKey) {
      if (job.cursor) await this.store.containers.transactLenient([{ Delete: { TableName: this.store.table, Key: current } }]);
      return undefined;
    }
    const next: PropagationJob = { ...job, cursor: page.lastKey, step: (job.step ?? 0) + 1 };
    await this.saveJob(next, job.step);
    return next;
  }

  /** Stores the job's next cursor; only the holder of the previous step may advance it. */
  private async saveJob(job: PropagationJob, previousStep: number | undefined) {
    const key = keys.propagationJob(job.orgId, job.parentId, job.parentVersion);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.store.table,
          Key: key,
          UpdateExpression: 'SET entity = :entity, job = :job, step = :step, expiresAt = :ttl',
          ConditionExpression: previousStep !== undefined ? 'step = :previous' : 'attribute_not_exists(PK)',
          ExpressionAttributeValues: {
            ':entity': ENTITY.propagationJob,
            ':job': job,
            ':step': job.step,
            ':ttl': Math.floor(Date.now() / 1000) + 7 * 24 * 3600,
            ...(previousStep !== undefined ? { ':previous': previousStep } : {}),
          },
        }),
      );
    } catch (error) {
      // A replayed chunk finds the job already advanced (or started): the work was idempotent.
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Writes synced values into one child, unless it already holds them or already follows a
   * newer version of this parent. The write bumps the child's version, so its own stream record
   * carries the change on to its children (A → B → C).
   */
  private async syncChild(orgId: string, type: ItemType, childId: string, containerId: string, connectionId: string, job: PropagationJob, values: Record<string, unknown>) {
    const names: Record<string, string> = { '#values': 'values', '#sv': `syncVersion:${connectionId}`, '#by': CHANGED_BY };
    const attrValues: Record<string, unknown> = { ':pv': job.parentVersion, ':one': 1, ':now': new Date().toISOString(), ':by': { source: PROPAGATION, connectionId, parentId: job.parentId } };
    const set = ['#sv = :pv', 'version = version + :one', 'updatedAt = :now', '#by = :by'];
    const remove: string[] = [];
    const differs: string[] = [];
    Object.entries(values).forEach(([fieldId, value], i) => {
      names[`#f${i}`] = fieldId;
      if (value === null) {
        remove.push(`#values.#f${i}`);
        differs.push(`attribute_exists(#values.#f${i})`);
      } else {
        attrValues[`:v${i}`] = value;
        set.push(`#values.#f${i} = :v${i}`);
        differs.push(`attribute_not_exists(#values.#f${i}) OR #values.#f${i} <> :v${i}`);
      }
    });
    const def = await this.definition(orgId, type, containerId);
    const titleFieldId = def ? ('pipe' in def ? def.pipe.titleFieldId : def.database.titleFieldId) : undefined;
    const title = titleFieldId && titleFieldId in values ? titleFrom(values[titleFieldId] as never) : undefined;
    if (title) {
      names['#title'] = 'title';
      names['#g2'] = 'GSI2SK';
      attrValues[':title'] = title;
      attrValues[':g2'] = gsi2.titleSortKey(normalizeTitle(title), childId);
      set.push('#title = :title', '#g2 = :g2');
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.store.table,
          Key: type === 'card' ? keys.card(orgId, childId) : keys.record(orgId, childId),
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: `attribute_exists(PK) AND (attribute_not_exists(#sv) OR #sv < :pv) AND (${differs.join(' OR ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: attrValues,
        }),
      );
      this.childrenWritten++;
    } catch (error) {
      // Already current, newer, or gone: nothing to do.
      if (!isConditionFailure(error)) throw error;
    }
  }
}
