/**
 * Webhooks and their deliveries in the single table. An organization's webhooks share one
 * partition with their count (the limit is enforced in the same transaction as the write), so
 * the stream loads them with one strongly consistent Query. Each delivery is one item under its
 * webhook, keyed by event id: the conditional put that creates it is the replay guard, and every
 * later write to it is conditioned on the attempt count it read, so a replayed or stale stream
 * message never logs an attempt twice.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery } from './model';
import { isConditionFailure, queryAll, returnCountSlot, setClauses, takeCountSlot, TransactionCancelled, transactWrite, type Item } from '../kernel/dynamo';
import { ENTITY, keys, WEBHOOK_PREFIX, webhookPartitions } from '../kernel/keys';

const BOOKKEEPING = ['PK', 'SK', 'entity', 'orgId', 'expiresAt'];

function toEntity<T>(item: Item): T {
  const copy: Item = { ...item };
  for (const attribute of BOOKKEEPING) delete copy[attribute];
  return copy as T;
}

/** What a page of the delivery log reads: everything but the payload. */
const LIST_ATTRIBUTES = [
  'webhookId',
  'eventId',
  'eventType',
  'status',
  'attempts',
  'nextAttemptAt',
  'lastAttemptAt',
  'lastStatusCode',
  'lastError',
  'deliveredAt',
  'redeliveries',
  'history',
  'createdAt',
  'updatedAt',
] as const;

/** Deliveries are kept this long (TTL), whatever their outcome. */
export const DELIVERY_RETENTION_SECONDS = 30 * 24 * 3600;

export interface AttemptChange {
  status: DeliveryStatus;
  attempt: DeliveryAttempt;
  nextAttemptAt?: string;
  /** The attempt log after this attempt (the caller keeps it bounded). */
  history: DeliveryAttempt[];
}

export class WebhookStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  /** Creates a webhook unless the organization already has `max`. */
  async create(orgId: string, webhook: Webhook, max: number): Promise<'ok' | 'limit'> {
    try {
      await transactWrite(this.doc, [
        {
          Put: {
            TableName: this.table,
            Item: { ...keys.webhook(orgId, webhook.id), entity: ENTITY.webhook, orgId, ...webhook },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        takeCountSlot(this.table, keys.webhookCount(orgId), ENTITY.webhookCount, orgId, max),
      ]);
      return 'ok';
    } catch (error) {
      if (error instanceof TransactionCancelled && error.failed(1)) return 'limit';
      throw error;
    }
  }

  async get(orgId: string, webhookId: string): Promise<Webhook | null> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.webhook(orgId, webhookId), ConsistentRead: true }));
    return item ? toEntity<Webhook>(item) : null;
  }

  async list(orgId: string, limit: number, startKey?: Item): Promise<{ items: Webhook[]; lastKey?: Item }> {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': webhookPartitions.webhooksOfOrg(orgId), ':prefix': WEBHOOK_PREFIX.webhook },
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return { items: (page.Items ?? []).map((i) => toEntity<Webhook>(i)), lastKey: page.LastEvaluatedKey };
  }

  /** Every webhook of the organization (bounded by the per-organization limit). */
  async all(orgId: string): Promise<Webhook[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': webhookPartitions.webhooksOfOrg(orgId), ':prefix': WEBHOOK_PREFIX.webhook },
      ConsistentRead: true,
    });
    return items.map((i) => toEntity<Webhook>(i));
  }

  /**
   * Sets the given attributes (undefined removes) and bumps the version, if the webhook is at
   * `expectedVersion`. Health counters written by the stream are left alone. Null: refused.
   */
  async update(orgId: string, webhookId: string, expectedVersion: number, change: Record<string, unknown>): Promise<Webhook | null> {
    const clauses = setClauses(change, 'w');
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.webhook(orgId, webhookId),
          UpdateExpression: `SET ${[...clauses.set, 'version = version + :one'].join(', ')}${clauses.remove.length ? ` REMOVE ${clauses.remove.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(PK) AND version = :expected',
          ExpressionAttributeNames: clauses.names,
          ExpressionAttributeValues: { ...clauses.values, ':one': 1, ':expected': expectedVersion },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toEntity<Webhook>(result.Attributes as Item);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  /** Deletes a webhook (at a version, if given) and gives its slot back. False: gone or changed. */
  async delete(orgId: string, webhookId: string, expectedVersion?: number): Promise<boolean> {
    try {
      await transactWrite(this.doc, [
        {
          Delete: {
            TableName: this.table,
            Key: keys.webhook(orgId, webhookId),
            ConditionExpression: `attribute_exists(PK)${expectedVersion !== undefined ? ' AND version = :expected' : ''}`,
            ...(expectedVersion !== undefined ? { ExpressionAttributeValues: { ':expected': expectedVersion } } : {}),
          },
        },
        returnCountSlot(this.table, keys.webhookCount(orgId)),
      ]);
      return true;
    } catch (error) {
      if (error instanceof TransactionCancelled) return false;
      throw error;
    }
  }

  /**
   * Replaces plaintext secrets (from before encryption) with their sealed form, if they are still
   * the ones read. Not a change of the webhook: the version stays. False: changed meanwhile.
   */
  async sealSecrets(
    orgId: string,
    webhookId: string,
    expected: { secret: string; previousSecret?: string | undefined },
    sealed: { secret: string; previousSecret?: string | undefined },
    secretHint: string,
  ): Promise<boolean> {
    const values: Record<string, unknown> = { ':s': sealed.secret, ':was': expected.secret, ':hint': secretHint };
    let set = 'secret = :s, secretHint = if_not_exists(secretHint, :hint)';
    let condition = 'secret = :was';
    if (expected.previousSecret !== undefined && sealed.previousSecret !== undefined) {
      set += ', previousSecret = :p';
      condition += ' AND previousSecret = :wasP';
      Object.assign(values, { ':p': sealed.previousSecret, ':wasP': expected.previousSecret });
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.webhook(orgId, webhookId),
          UpdateExpression: `SET ${set}`,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Takes one of the organization's `cap` attempt slots for `leaseId` until `expiresAt` (epoch ms;
   * a lease left by a crashed consumer lapses then). One conditional write when a slot is free;
   * when none is, one consistent read to drop lapsed leases and one more try. False: all taken.
   */
  async acquireSlot(orgId: string, leaseId: string, expiresAt: number, cap: number, now = Date.now()): Promise<boolean> {
    const key = keys.deliverySlots(orgId);
    for (let round = 0; round < 2; round++) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression: 'SET leases.#id = :until',
            ConditionExpression: 'size(leases) < :cap',
            ExpressionAttributeNames: { '#id': leaseId },
            ExpressionAttributeValues: { ':until': expiresAt, ':cap': cap },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }))).Item;
      if (!item) {
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.table,
              Item: { ...key, entity: ENTITY.deliverySlots, leases: { [leaseId]: expiresAt } },
              ConditionExpression: 'attribute_not_exists(PK)',
            }),
          );
          return true;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          continue;
        }
      }
      const lapsed = Object.entries((item['leases'] ?? {}) as Record<string, number>).filter(([, until]) => until <= now);
      if (!lapsed.length) return false;
      const names: Record<string, string> = {};
      const values: Record<string, number> = {};
      for (const [i, [id, until]] of lapsed.entries()) {
        names[`#l${i}`] = id;
        values[`:l${i}`] = until;
      }
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression: `REMOVE ${lapsed.map((_, i) => `leases.#l${i}`).join(', ')}`,
            // Only the leases read as lapsed: one renewed meanwhile stays.
            ConditionExpression: lapsed.map((_, i) => `leases.#l${i} = :l${i}`).join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return false;
  }

  /** Gives the slot back (nothing if it lapsed and was taken out meanwhile). */
  async releaseSlot(orgId: string, leaseId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.deliverySlots(orgId),
          UpdateExpression: 'REMOVE leases.#id',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#id': leaseId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** The webhook's count of failed attempts in a row: one more, or back to zero after a success. */
  async recordHealth(orgId: string, webhookId: string, ok: boolean, at: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.webhook(orgId, webhookId),
          UpdateExpression: ok ? 'SET consecutiveFailures = :zero' : 'SET lastFailureAt = :at ADD consecutiveFailures :one',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: ok ? { ':zero': 0 } : { ':one': 1, ':at': at },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  // ——— deliveries ———

  /** Records a delivery to make; false when it exists already (a replayed stream record). */
  async createDelivery(orgId: string, delivery: WebhookDelivery): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.webhookDelivery(orgId, delivery.webhookId, delivery.eventId),
            entity: ENTITY.webhookDelivery,
            orgId,
            ...delivery,
            expiresAt: Math.floor(Date.parse(delivery.createdAt) / 1000) + DELIVERY_RETENTION_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getDelivery(orgId: string, webhookId: string, eventId: string): Promise<WebhookDelivery | null> {
    const { Item: item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.webhookDelivery(orgId, webhookId, eventId), ConsistentRead: true }),
    );
    return item ? toEntity<WebhookDelivery>(item) : null;
  }

  /**
   * Newest first (event ids sort by time), without the payloads. A status filter reads past
   * deliveries of other statuses, so its pages may come back short (with a cursor); the log
   * itself expires after DELIVERY_RETENTION_SECONDS.
   */
  async listDeliveries(orgId: string, webhookId: string, limit: number, startKey?: Item, status?: DeliveryStatus) {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ...(status ? { FilterExpression: '#status = :status' } : {}),
        ProjectionExpression: `${LIST_ATTRIBUTES.map((a) => `#${a}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(LIST_ATTRIBUTES.map((a) => [`#${a}`, a])),
        ExpressionAttributeValues: {
          ':pk': webhookPartitions.deliveriesOfWebhook(orgId, webhookId),
          ':prefix': WEBHOOK_PREFIX.delivery,
          ...(status ? { ':status': status } : {}),
        },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return { items: (page.Items ?? []).map((i) => toEntity<WebhookDelivery>(i)), lastKey: page.LastEvaluatedKey as Item | undefined };
  }

  /**
   * Records the outcome of attempt `seenAttempts + 1`, if no other run recorded it first.
   * False: the delivery moved on meanwhile (the caller's stream record was stale).
   */
  async recordAttempt(orgId: string, webhookId: string, eventId: string, seenAttempts: number, change: AttemptChange): Promise<boolean> {
    const { attempt } = change;
    const set = ['#status = :status', 'attempts = :attempts', 'lastAttemptAt = :at', 'updatedAt = :at', '#history = :history'];
    const remove: string[] = [];
    const values: Record<string, unknown> = {
      ':status': change.status,
      ':attempts': attempt.attempt,
      ':at': attempt.at,
      ':history': change.history,
      ':seen': seenAttempts,
      ':pending': 'pending',
    };
    if (attempt.statusCode !== undefined) {
      set.push('lastStatusCode = :code');
      values[':code'] = attempt.statusCode;
    } else remove.push('lastStatusCode');
    if (attempt.error !== undefined) {
      set.push('lastError = :error');
      values[':error'] = attempt.error;
    } else remove.push('lastError');
    if (change.nextAttemptAt) {
      set.push('nextAttemptAt = :next');
      values[':next'] = change.nextAttemptAt;
    } else remove.push('nextAttemptAt');
    if (change.status === 'succeeded') {
      set.push('deliveredAt = :at');
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.webhookDelivery(orgId, webhookId, eventId),
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: 'attempts = :seen AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status', '#history': 'history' },
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    return true;
  }

  /** Ends a pending delivery without an attempt (its webhook was deleted or disabled). */
  async abandon(orgId: string, webhookId: string, eventId: string, seenAttempts: number, reason: string, at: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.webhookDelivery(orgId, webhookId, eventId),
          UpdateExpression: 'SET #status = :failed, lastError = :reason, updatedAt = :at REMOVE nextAttemptAt',
          ConditionExpression: 'attempts = :seen AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':failed': 'failed', ':reason': reason, ':at': at, ':seen': seenAttempts, ':pending': 'pending' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Starts a finished delivery over (a redelivery): pending again, a new round of attempts from
   * now. Null: it is still pending, or gone.
   */
  async restart(orgId: string, webhookId: string, eventId: string, now: string): Promise<WebhookDelivery | null> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.webhookDelivery(orgId, webhookId, eventId),
          UpdateExpression:
            'SET #status = :pending, roundStartedAt = :now, roundStartAttempts = attempts, nextAttemptAt = :now, updatedAt = :now ADD redeliveries :one',
          ConditionExpression: 'attribute_exists(PK) AND #status <> :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':now': now, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toEntity<WebhookDelivery>(result.Attributes as Item);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }
}
