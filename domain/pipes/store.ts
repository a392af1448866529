/**
 * Pipes and databases with their phases and fields. A container's definition lives in one
 * partition, so one strongly consistent Query reads it whole.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Connection } from '../connections/model';
import type { Database, DatabaseDefinition } from '../databases/model';
import type { Field } from '../fields/model';
import type { Phase, Pipe, PipeDefinition } from './model';
import { batchDelete, countQuery, queryAll, queryPage, TransactionCancelled, transactWrite, type Item, type TransactItem } from '../kernel/dynamo';
import { ENTITY, gsi1, keys, STORE_ATTRIBUTES } from '../kernel/keys';

/** Item → entity: drops key and bookkeeping attributes. */
export function strip<T>(item: Item): T {
  const copy: Item = { ...item };
  for (const attribute of STORE_ATTRIBUTES) delete copy[attribute];
  return copy as T;
}

export type ContainerKind = 'pipe' | 'database';

/** The connection copies a container partition holds, by direction. */
function connectionsIn(items: Item[]) {
  return {
    outgoing: items.filter((i) => i['entity'] === ENTITY.connectionOut).map((i) => strip<Connection>(i)),
    incoming: items.filter((i) => i['entity'] === ENTITY.connectionIn).map((i) => strip<Connection>(i)),
  };
}

export function containerKey(orgId: string, kind: ContainerKind, id: string) {
  return kind === 'pipe' ? keys.pipe(orgId, id) : keys.database(orgId, id);
}

export function fieldKey(orgId: string, kind: ContainerKind, containerId: string, fieldId: string) {
  return kind === 'pipe' ? keys.pipeField(orgId, containerId, fieldId) : keys.databaseField(orgId, containerId, fieldId);
}

/** Keeps a container alive and unchanged-in-kind while something is written under it. */
export function containerLive(orgId: string, kind: ContainerKind, id: string, table: string): TransactItem {
  return {
    ConditionCheck: {
      TableName: table,
      Key: containerKey(orgId, kind, id),
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(deleting)',
    },
  };
}

/** Bumps the container's version (the definition's ETag) inside a transaction. */
export function bumpContainer(
  orgId: string,
  kind: ContainerKind,
  id: string,
  table: string,
  now: string,
  expectedVersion?: number,
  extra: { set?: string[]; names?: Record<string, string>; values?: Record<string, unknown>; remove?: string[] } = {},
): TransactItem {
  const set = ['version = version + :one', 'updatedAt = :now', ...(extra.set ?? [])];
  return {
    Update: {
      TableName: table,
      Key: containerKey(orgId, kind, id),
      UpdateExpression: `SET ${set.join(', ')}${extra.remove?.length ? ` REMOVE ${extra.remove.join(', ')}` : ''}`,
      ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(deleting)${expectedVersion !== undefined ? ' AND version = :expected' : ''}`,
      ExpressionAttributeNames: extra.names && Object.keys(extra.names).length ? extra.names : undefined,
      ExpressionAttributeValues: {
        ':one': 1,
        ':now': now,
        ...(expectedVersion !== undefined ? { ':expected': expectedVersion } : {}),
        ...extra.values,
      },
    },
  };
}

export class ContainerStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  pipeItem(orgId: string, pipe: Pipe): Item {
    return { ...keys.pipe(orgId, pipe.id), GSI1PK: gsi1.pipesOfOrg(orgId), GSI1SK: gsi1.byId(pipe.id), entity: ENTITY.pipe, orgId, ...pipe };
  }
  phaseItem(orgId: string, phase: Phase): Item {
    return { ...keys.phase(orgId, phase.pipeId, phase.id), entity: ENTITY.phase, orgId, ...phase };
  }
  fieldItem(orgId: string, kind: ContainerKind, field: Field): Item {
    return { ...fieldKey(orgId, kind, field.containerId, field.id), entity: ENTITY.field, orgId, ...field };
  }
  databaseItem(orgId: string, database: Database): Item {
    return {
      ...keys.database(orgId, database.id),
      GSI1PK: gsi1.databasesOfOrg(orgId),
      GSI1SK: gsi1.byId(database.id),
      entity: ENTITY.database,
      orgId,
      ...database,
    };
  }

  /** Writes a new container and all its parts atomically. */
  async createAll(items: Item[]): Promise<void> {
    await transactWrite(
      this.doc,
      items.map((Item) => ({ Put: { TableName: this.table, Item, ConditionExpression: 'attribute_not_exists(PK)' } })),
    );
  }

  private async readPartition(key: { PK: string }): Promise<Item[] | null> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': key.PK },
      ConsistentRead: true,
    });
    const meta = items.find((i) => i['SK'] === '#META');
    return meta && !meta['deleting'] ? items : null;
  }

  async loadPipe(orgId: string, pipeId: string): Promise<PipeDefinition | null> {
    const items = await this.readPartition(keys.pipe(orgId, pipeId));
    if (!items) return null;
    return {
      pipe: strip<Pipe>(items.find((i) => i['entity'] === ENTITY.pipe)!),
      phases: items.filter((i) => i['entity'] === ENTITY.phase && !i['closing']).map((i) => strip<Phase>(i)),
      fields: items.filter((i) => i['entity'] === ENTITY.field).map((i) => strip<Field>(i)),
      ...connectionsIn(items),
    };
  }

  async loadDatabase(orgId: string, databaseId: string): Promise<DatabaseDefinition | null> {
    const items = await this.readPartition(keys.database(orgId, databaseId));
    if (!items) return null;
    return {
      database: strip<Database>(items.find((i) => i['entity'] === ENTITY.database)!),
      fields: items.filter((i) => i['entity'] === ENTITY.field).map((i) => strip<Field>(i)),
      ...connectionsIn(items),
    };
  }

  async listContainers(orgId: string, kind: ContainerKind, limit: number, startKey?: Item) {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': kind === 'pipe' ? gsi1.pipesOfOrg(orgId) : gsi1.databasesOfOrg(orgId) },
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
    return { items: page.items.filter((i) => !i['deleting']), lastKey: page.lastKey };
  }

  listPartition(kind: ContainerKind) {
    return kind === 'pipe' ? gsi1.pipesOfOrg : gsi1.databasesOfOrg;
  }

  async transact(items: TransactItem[]): Promise<void> {
    await transactWrite(this.doc, items);
  }

  /** A group of clean-up writes that is applied whole or, if a condition is already settled, not at all. */
  async transactOrSkip(items: TransactItem[]): Promise<void> {
    try {
      await transactWrite(this.doc, items);
    } catch (error) {
      if (!(error instanceof TransactionCancelled)) throw error;
    }
  }

  /**
   * Clean-up writes whose conditions may already be settled by an earlier, interrupted run:
   * tried as one transaction, and item by item (skipping failed conditions) if that is refused.
   */
  async transactLenient(items: TransactItem[]): Promise<void> {
    if (!items.length) return;
    try {
      await transactWrite(this.doc, items);
    } catch (error) {
      if (!(error instanceof TransactionCancelled)) throw error;
      for (const item of items) {
        try {
          await transactWrite(this.doc, [item]);
        } catch (single) {
          if (!(single instanceof TransactionCancelled)) throw single;
        }
      }
    }
  }

  /**
   * Marks a container (or a phase) as closing so no new card or record can be written under
   * it while it is counted and deleted; the mark is lifted if deletion is refused.
   */
  async setMark(key: { PK: string; SK: string }, mark: 'deleting' | 'closing', on: boolean, expectedVersion?: number) {
    await transactWrite(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: key,
          UpdateExpression: on ? `SET ${mark} = :true` : `REMOVE ${mark}`,
          ConditionExpression: `attribute_exists(PK)${expectedVersion !== undefined ? ' AND version = :v' : ''}`,
          ExpressionAttributeValues:
            on || expectedVersion !== undefined
              ? { ...(on ? { ':true': true } : {}), ...(expectedVersion !== undefined ? { ':v': expectedVersion } : {}) }
              : undefined,
        },
      },
    ]);
  }

  async countIndex(indexPartition: string): Promise<number> {
    return countQuery(this.doc, {
      TableName: this.table,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': indexPartition },
    });
  }

  /** Removes every item of a container's partition (the container itself last). */
  async deletePartition(key: { PK: string }): Promise<void> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': key.PK },
      ProjectionExpression: 'PK, SK',
      ConsistentRead: true,
    });
    const parts = items.filter((i) => i['SK'] !== '#META');
    await batchDelete(this.doc, this.table, parts);
    await batchDelete(this.doc, this.table, [{ PK: key.PK, SK: '#META' }]);
  }
}
