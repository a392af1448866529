/**
 * Connection definitions and the edges they allow. A definition is stored once under its own
 * key and copied into the partitions of its parent and child containers (so one Query of a pipe
 * returns the connections it takes part in); edges are stored twice, once in each item's
 * partition, with a per-parent child count that enforces single and maximum entries.
 */
import { BatchGetCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Connection, Edge, ItemSummary } from './model';
import type { ContainerRef, ItemType } from '../kernel/model';
import { strip } from '../pipes/store';
import { isConditionFailure, queryAll, queryPage, type Item, type TransactItem } from '../kernel/dynamo';
import { PARENT_LINKS, PARENT_LINKS_UNKNOWN } from '../items/store';
import { EDGE_PREFIX, ENTITY, gsi1, keys } from '../kernel/keys';

export function containerPk(orgId: string, ref: ContainerRef): string {
  return ref.type === 'pipe' ? keys.pipe(orgId, ref.id).PK : keys.database(orgId, ref.id).PK;
}

export function itemPk(orgId: string, type: ItemType, id: string): string {
  return type === 'card' ? keys.card(orgId, id).PK : keys.record(orgId, id).PK;
}

export function itemTypeOf(id: string): ItemType {
  return id.startsWith('card_') ? 'card' : 'record';
}

export class ConnectionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  /** The primary item and its two copies, written or replaced together. */
  definitionPuts(orgId: string, connection: Connection, condition: 'new' | { version: number }): TransactItem[] {
    const body = { entity: ENTITY.connection, orgId, ...connection };
    const primaryCondition = condition === 'new' ? 'attribute_not_exists(PK)' : 'attribute_exists(PK) AND attribute_not_exists(deleting) AND version = :v';
    const values = condition === 'new' ? undefined : { ':v': condition.version };
    return [
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.connection(orgId, connection.id), GSI1PK: gsi1.connectionsOfOrg(orgId), GSI1SK: connection.id, ...body },
          ConditionExpression: primaryCondition,
          ExpressionAttributeValues: values,
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.connectionOut(containerPk(orgId, connection.parent), connection.id), ...body, entity: ENTITY.connectionOut },
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.connectionIn(containerPk(orgId, connection.child), connection.id), ...body, entity: ENTITY.connectionIn },
        },
      },
    ];
  }

  definitionDeletes(orgId: string, connection: Connection): TransactItem[] {
    return [
      { Delete: { TableName: this.table, Key: keys.connection(orgId, connection.id) } },
      { Delete: { TableName: this.table, Key: keys.connectionOut(containerPk(orgId, connection.parent), connection.id) } },
      { Delete: { TableName: this.table, Key: keys.connectionIn(containerPk(orgId, connection.child), connection.id) } },
    ];
  }

  async get(orgId: string, connectionId: string): Promise<Connection | null> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.connection(orgId, connectionId), ConsistentRead: true }));
    return item && !item['deleting'] ? strip<Connection>(item) : null;
  }

  /** Marks a definition as going away: connects through it are refused from now on. */
  async markDeleting(orgId: string, connectionId: string, version?: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.connection(orgId, connectionId),
          UpdateExpression: 'SET deleting = :t',
          ConditionExpression: `attribute_exists(PK)${version !== undefined ? ' AND version = :v' : ''}`,
          ExpressionAttributeValues: { ':t': true, ...(version !== undefined ? { ':v': version } : {}) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async unmarkDeleting(orgId: string, connectionId: string): Promise<void> {
    await this.doc.send(new UpdateCommand({ TableName: this.table, Key: keys.connection(orgId, connectionId), UpdateExpression: 'REMOVE deleting' }));
  }

  async list(orgId: string, limit: number, startKey?: Item) {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': gsi1.connectionsOfOrg(orgId) },
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
    return { items: page.items.filter((i) => !i['deleting']).map((i) => strip<Connection>(i)), lastKey: page.lastKey };
  }

  /** Guards a connect: the definition still exists and is not being deleted. */
  definitionLive(orgId: string, connectionId: string): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.table,
        Key: keys.connection(orgId, connectionId),
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(deleting)',
      },
    };
  }

  /**
   * An item's part of an edge change: it exists in the container the connection names, and its
   * version (the ETag) and updatedAt move on, since its edges are part of what it shows (its
   * parents/children, its connection fields, the change log). A connect (`adding`) also bumps
   * the edge sequence, so a concurrent delete of the item, which conditions on the sequence it
   * read, fails instead of leaving the new edge dangling; and refuses an item a cascade job has
   * marked (the job's plan stays complete). A disconnect leaves both alone: removing an edge can
   * leave nothing dangling. With `expectedVersion` (If-Match) the change happens only at that version.
   */
  edgeTouch(
    orgId: string,
    type: ItemType,
    id: string,
    containerId: string | undefined,
    now: string,
    options: {
      adding: boolean;
      expectedVersion?: number;
      /** The item gets a parent (it is the child). */
      asChild?: boolean;
      /** Field id → the value the item must still hold (undefined or null: none). */
      expectedValues?: Record<string, unknown>;
      /** What a summary of the item shows, which it must still show (title, phase, finished). */
      expectedSummary?: { title?: string; phaseId?: string; finished: boolean };
    },
  ): TransactItem {
    const conditions = ['attribute_exists(PK)'];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':one': 1, ':now': now };
    const set: string[] = [];
    if (options.adding) {
      conditions.push('attribute_not_exists(deleting)');
      values[':zero'] = 0;
      set.push('edgeSeq = if_not_exists(edgeSeq, :zero) + :one');
      if (options.asChild) {
        names['#links'] = PARENT_LINKS;
        values[':unknown'] = PARENT_LINKS_UNKNOWN;
        set.push('#links = if_not_exists(#links, :unknown) + :one');
      }
    }
    if (containerId !== undefined) {
      conditions.push('#container = :container');
      names['#container'] = type === 'card' ? 'pipeId' : 'databaseId';
      values[':container'] = containerId;
    }
    if (options.expectedVersion !== undefined) {
      conditions.push('version = :expected');
      values[':expected'] = options.expectedVersion;
    }
    Object.entries(options.expectedValues ?? {}).forEach(([fieldId, value], i) => {
      names['#values'] = 'values';
      names[`#ev${i}`] = fieldId;
      if (value === undefined || value === null) conditions.push(`attribute_not_exists(#values.#ev${i})`);
      else {
        values[`:ev${i}`] = value;
        conditions.push(`#values.#ev${i} = :ev${i}`);
      }
    });
    const summary = options.expectedSummary;
    if (summary) {
      names['#title'] = 'title';
      if (summary.title === undefined) conditions.push('attribute_not_exists(#title)');
      else {
        conditions.push('#title = :esTitle');
        values[':esTitle'] = summary.title;
      }
      if (summary.phaseId !== undefined) {
        names['#phase'] = 'phaseId';
        conditions.push('#phase = :esPhase');
        values[':esPhase'] = summary.phaseId;
      }
      names['#finished'] = 'finishedAt';
      conditions.push(summary.finished ? 'attribute_exists(#finished)' : 'attribute_not_exists(#finished)');
    }
    return {
      Update: {
        TableName: this.table,
        Key: { PK: itemPk(orgId, type, id), SK: '#META' },
        UpdateExpression: `SET ${[...set, 'version = version + :one', 'updatedAt = :now'].join(', ')}`,
        ConditionExpression: conditions.join(' AND '),
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
      },
    };
  }

  /**
   * The writes that add and remove children of one parent through one connection: both edges
   * of each, and one update of the parent's count for the whole change (a transaction may touch
   * an item once). Duplicate edges, missing edges and a count past the limit cancel it all.
   */
  edgeChanges(
    orgId: string,
    connection: Connection,
    parent: ItemSummary,
    adds: ItemSummary[],
    removes: Array<{ type: ItemType; id: string }>,
    now: string,
  ): TransactItem[] {
    const parentPk = itemPk(orgId, parent.type, parent.id);
    const items: TransactItem[] = [];
    for (const child of adds) {
      items.push(
        {
          Put: {
            TableName: this.table,
            Item: {
              ...keys.childEdge(parentPk, connection.id, child.id),
              GSI1PK: gsi1.edgesOfConnection(orgId, connection.id),
              GSI1SK: gsi1.edgeSortKey(parent.id, child.id),
              entity: ENTITY.childEdge,
              orgId,
              connectionId: connection.id,
              parentId: parent.id,
              childId: child.id,
              summary: child,
              connectedAt: now,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        {
          Put: {
            TableName: this.table,
            Item: {
              ...keys.parentEdge(itemPk(orgId, child.type, child.id), connection.id, parent.id),
              entity: ENTITY.parentEdge,
              orgId,
              connectionId: connection.id,
              parentId: parent.id,
              childId: child.id,
              summary: parent,
              connectedAt: now,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
      );
    }
    for (const child of removes) {
      items.push(
        { Delete: { TableName: this.table, Key: keys.childEdge(parentPk, connection.id, child.id), ConditionExpression: 'attribute_exists(PK)' } },
        { Delete: { TableName: this.table, Key: keys.parentEdge(itemPk(orgId, child.type, child.id), connection.id, parent.id) } },
      );
    }
    const delta = adds.length - removes.length;
    const max = connection.entries === 'single' ? 1 : connection.maxChildren;
    const limited = delta > 0 && max !== undefined;
    if (adds.length || removes.length) {
      items.push({
        Update: {
          TableName: this.table,
          Key: keys.childCount(parentPk, connection.id),
          UpdateExpression: 'SET entity = :entity, orgId = :org, connectionId = :conn, parentId = :parent ADD #count :delta',
          ConditionExpression: limited ? '(attribute_not_exists(#count) AND :delta <= :max) OR #count <= :room' : undefined,
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':entity': ENTITY.childCount,
            ':org': orgId,
            ':conn': connection.id,
            ':parent': parent.id,
            ':delta': delta,
            ...(limited ? { ':max': max, ':room': max - delta } : {}),
          },
        },
      });
    }
    return items;
  }

  /** A page of an item's children through one connection, in creation order of the edges. */
  async childrenPage(orgId: string, parentType: ItemType, parentId: string, connectionId: string, limit: number, startKey?: Item) {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': itemPk(orgId, parentType, parentId), ':prefix': `${EDGE_PREFIX.child}${connectionId}#` },
      Limit: limit,
      ExclusiveStartKey: startKey,
      ConsistentRead: true,
    });
    return { items: page.items.map((i) => strip<Edge>(i)), lastKey: page.lastKey };
  }

  async allChildren(orgId: string, parentType: ItemType, parentId: string, connectionId: string): Promise<Edge[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': itemPk(orgId, parentType, parentId), ':prefix': `${EDGE_PREFIX.child}${connectionId}#` },
      ConsistentRead: true,
    });
    return items.map((i) => strip<Edge>(i));
  }

  /**
   * The ids of the first `limit` children of an item through one connection (edge order): one
   * Query of its child edges, projected to the ids. Eventually consistent for list pages (which
   * come from an index anyway), strongly consistent for the answer to a write.
   */
  async childIds(
    orgId: string,
    parentType: ItemType,
    parentId: string,
    connectionId: string,
    options: { limit: number; consistent: boolean },
  ): Promise<string[]> {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ProjectionExpression: 'childId',
      ExpressionAttributeValues: { ':pk': itemPk(orgId, parentType, parentId), ':prefix': `${EDGE_PREFIX.child}${connectionId}#` },
      ConsistentRead: options.consistent,
      Limit: options.limit,
    });
    return page.items.map((i) => i['childId'] as string);
  }

  /**
   * The children through one connection that are not finished (as their edge summaries say; a
   * child's move refreshes them in its own transaction). Reads every child edge of that one
   * connection: only a rule that needs them (children finished to move or finish) calls this.
   */
  async unfinishedChildren(orgId: string, parentType: ItemType, parentId: string, connectionId: string): Promise<Array<{ childId: string; title: string }>> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      FilterExpression: '#s.finished = :false',
      ProjectionExpression: 'childId, #s.title',
      ExpressionAttributeNames: { '#s': 'summary' },
      ExpressionAttributeValues: { ':pk': itemPk(orgId, parentType, parentId), ':prefix': `${EDGE_PREFIX.child}${connectionId}#`, ':false': false },
      ConsistentRead: true,
    });
    return items.map((i) => ({ childId: i['childId'] as string, title: (i['summary'] as { title?: string } | undefined)?.title ?? '' }));
  }

  /** Every child edge of a connection, across all parents (GSI1), a page at a time. */
  async edgesOfConnection(orgId: string, connectionId: string, limit: number, startKey?: Item) {
    return queryPage(this.doc, {
      TableName: this.table,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': gsi1.edgesOfConnection(orgId, connectionId) },
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
  }

  /**
   * Refreshes the summary a neighbour holds of an item, unless it already holds a newer one, so
   * out-of-order refreshes never go back in time. A vanished edge is skipped.
   */
  async refreshSummaries(edgeKeys: Array<{ PK: string; SK: string }>, summary: ItemSummary): Promise<void> {
    for (let i = 0; i < edgeKeys.length; i += 25) {
      await Promise.all(
        edgeKeys.slice(i, i + 25).map(async (Key) => {
          try {
            await this.doc.send(
              new UpdateCommand({
                TableName: this.table,
                Key,
                UpdateExpression: 'SET summary = :s',
                ConditionExpression: 'attribute_exists(PK) AND summary.version < :v',
                ExpressionAttributeValues: { ':s': summary, ':v': summary.version },
              }),
            );
          } catch (error) {
            if (!isConditionFailure(error)) throw error;
          }
        }),
      );
    }
  }

  /** `refreshSummaries` of one edge as a transaction item: the edge must exist and hold an older summary. */
  summaryRefresh(Key: { PK: string; SK: string }, summary: ItemSummary): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key,
        UpdateExpression: 'SET summary = :s',
        ConditionExpression: 'attribute_exists(PK) AND summary.version < :v',
        ExpressionAttributeValues: { ':s': summary, ':v': summary.version },
      },
    };
  }

  /** Which of these children are already connected to the parent (one eventually consistent BatchGetItem: a search hint). */
  async connectedAmong(
    orgId: string,
    parentType: ItemType,
    parentId: string,
    connectionId: string,
    childIds: string[],
    consistent = false,
  ): Promise<Set<string>> {
    if (!childIds.length) return new Set();
    const parentPk = itemPk(orgId, parentType, parentId);
    let keysLeft: Item[] = [...new Set(childIds)].map((id) => keys.childEdge(parentPk, connectionId, id));
    const found = new Set<string>();
    for (let attempt = 0; keysLeft.length && attempt < 8; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      const result = await this.doc.send(
        new BatchGetCommand({
          RequestItems: { [this.table]: { Keys: keysLeft, ProjectionExpression: 'childId', ...(consistent ? { ConsistentRead: true } : {}) } },
        }),
      );
      for (const item of result.Responses?.[this.table] ?? []) found.add(item['childId'] as string);
      keysLeft = (result.UnprocessedKeys?.[this.table]?.Keys ?? []) as Item[];
    }
    return found;
  }

  /** Title-prefix search of a pipe's cards or a database's records (GSI2). */
  async searchTitles(partition: string, prefix: string, limit: number, startKey?: Item, finished?: boolean) {
    return queryPage(this.doc, {
      TableName: this.table,
      IndexName: 'GSI2',
      KeyConditionExpression: prefix ? 'GSI2PK = :pk AND begins_with(GSI2SK, :prefix)' : 'GSI2PK = :pk',
      ExpressionAttributeValues: { ':pk': partition, ...(prefix ? { ':prefix': prefix } : {}) },
      // The finished filter reads past unfinished items; acceptable for an interactive search page.
      FilterExpression: finished === undefined ? undefined : finished ? 'attribute_exists(finishedAt)' : 'attribute_not_exists(finishedAt)',
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
  }
}
