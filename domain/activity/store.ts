/**
 * Activity and audit entries in the table. An item's activity has a partition of its own
 * (`ORG#o#ACT#<itemId>`, sorted by time then change id); the organization's audit trail one
 * time-ordered partition (`ORG#o#AUDIT`). Each entry is one PutItem (1 WCU up to 1 KB) at a key
 * derived from the stream record, so a replay overwrites the entry with itself; it expires with
 * the organization's retention (TTL on `expiresAt`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ActivityEntry, AuditEntry } from './activity';
import { activityPartitions, ENTITY, keys } from '../kernel/keys';

type Item = Record<string, unknown>;

export interface AuditFilter {
  /** Inclusive ISO times. */
  from?: string;
  to?: string;
  entityType?: string;
  entityId?: string;
}

/** BatchWriteItem's limit. */
const BATCH = 25;

interface PendingPut {
  item: Item;
  done: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

const expiry = (occurredAt: string, retentionDays: number) => Math.floor(Date.parse(occurredAt) / 1000) + retentionDays * 86_400;

export class ActivityStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Activity puts asked for in the same turn of the event loop (the stream processor runs many
   * records at once: a fan-out's children each add one) go out together, 25 to a BatchWriteItem.
   * They are plain puts at keys derived from the stream record, so batching changes nothing but
   * the request count; each caller's promise settles when its own entry is written.
   */
  private pending = new Map<string, PendingPut>();
  private scheduled = false;

  putActivity(entry: ActivityEntry, retentionDays: number): Promise<void> {
    const item = {
      ...keys.activity(entry.orgId, entry.itemId, entry.occurredAt, entry.id),
      entity: ENTITY.activity,
      orgId: entry.orgId,
      entry,
      expiresAt: expiry(entry.occurredAt, retentionDays),
    };
    return new Promise<void>((resolve, reject) => {
      // A key twice in one batch is refused by DynamoDB: the same record's entry, written once.
      const key = `${item.PK}\u0000${item.SK}`;
      const pending = this.pending.get(key);
      if (pending) {
        pending.item = item;
        pending.done.push({ resolve, reject });
      } else this.pending.set(key, { item, done: [{ resolve, reject }] });
      if (this.pending.size >= BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush() {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (let i = 0; i < all.length; i += BATCH) void this.writeBatch(all.slice(i, i + BATCH));
  }

  private async writeBatch(batch: PendingPut[]) {
    try {
      let left = batch.map((p) => ({ PutRequest: { Item: p.item } }));
      for (let attempt = 0; left.length; attempt++) {
        if (attempt > 8) throw new Error(`BatchWriteItem left ${left.length} activity entries unprocessed`);
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: left } }));
        left = (out.UnprocessedItems?.[this.table] ?? []) as typeof left;
      }
      for (const p of batch) for (const d of p.done) d.resolve();
    } catch (error) {
      for (const p of batch) for (const d of p.done) d.reject(error);
    }
  }

  async putAudit(entry: AuditEntry, retentionDays: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.audit(entry.orgId, entry.occurredAt, entry.id),
          entity: ENTITY.audit,
          orgId: entry.orgId,
          entityType: entry.entityType,
          entityId: entry.entityId,
          entry,
          expiresAt: expiry(entry.occurredAt, retentionDays),
        },
      }),
    );
  }

  /** One page of an item's activity, newest first. */
  async listActivity(orgId: string, itemId: string, limit: number, startKey?: Item) {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': activityPartitions.ofItem(orgId, itemId) },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return { items: (page.Items ?? []).map((i) => i['entry'] as ActivityEntry), lastKey: page.LastEvaluatedKey as Item | undefined };
  }

  /**
   * One page of the audit trail, newest first. The time range is the key condition; entity
   * filters are applied after reading (a page may hold fewer than `limit` entries, never skip one).
   */
  async listAudit(orgId: string, filter: AuditFilter, limit: number, startKey?: Item) {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':pk': activityPartitions.audit(orgId) };
    let range = '';
    // Sort keys are `<ISO time>#<id>`: '~' sorts after '#', so `to` includes its own instant.
    if (filter.from && filter.to) {
      range = ' AND SK BETWEEN :from AND :to';
      Object.assign(values, { ':from': filter.from, ':to': `${filter.to}~` });
    } else if (filter.from) {
      range = ' AND SK >= :from';
      values[':from'] = filter.from;
    } else if (filter.to) {
      range = ' AND SK <= :to';
      values[':to'] = `${filter.to}~`;
    }
    const conditions: string[] = [];
    if (filter.entityType) {
      names['#entityType'] = 'entityType';
      values[':entityType'] = filter.entityType;
      conditions.push('#entityType = :entityType');
    }
    if (filter.entityId) {
      names['#entityId'] = 'entityId';
      values[':entityId'] = filter.entityId;
      conditions.push('#entityId = :entityId');
    }
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: `PK = :pk${range}`,
        ...(conditions.length ? { FilterExpression: conditions.join(' AND '), ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return { items: (page.Items ?? []).map((i) => i['entry'] as AuditEntry), lastKey: page.LastEvaluatedKey as Item | undefined };
  }
}
