/**
 * Cards and records: the items that live in a pipe or a database. Each has its own partition
 * (its header, and later its connection edges); GSI1 lists them per phase or per database and
 * GSI2 finds them by title prefix.
 */
import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { normalizeTitle } from '../fields/field-types';
import type { Card } from '../cards/model';
import type { Edge } from '../connections/model';
import type { DbRecord } from '../databases/model';
import type { AutomationMark } from '../kernel/model';
import { containerLive, strip } from '../pipes/store';
import { isConditionFailure, queryAll, queryPage, setClauses, TransactionCancelled, transactWrite, type Item, type TransactItem } from '../kernel/dynamo';
import { EDGE_PREFIX, ENTITY, gsi1, gsi2, gsi3, keys, META } from '../kernel/keys';

export type ItemKind = 'card' | 'record';

/** Attribute on a card: the version whose summary its parents' edges were given in the write itself. */
export const PARENTS_REFRESHED = 'parentsRefreshed';

/**
 * Attribute on a card or record: how many parent edges it has ever been given (never lowered, so
 * at most this many parents). 0 or 1 lets the stream skip the Query for parents a propagated or
 * unparented change would refresh. Items written before it existed lack it (unknown: query);
 * their first connect takes it to PARENT_LINKS_UNKNOWN + 1, still "unknown".
 */
export const PARENT_LINKS = 'parentLinks';
export const PARENT_LINKS_UNKNOWN = 1_000_000;

/** Tombstones of deleted items stay this long in the change log (GSI3) for incremental sync. */
export const TOMBSTONE_TTL_SECONDS = 30 * 24 * 3600;

/** How many items one header read returns at most: the item, counts, parents, first children. */
export const HEADER_PAGE = 100;

export interface ValuesChange {
  values: Record<string, unknown>;
  title?: string;
  indexKeys?: Record<string, string>;
  now: string;
  /** Set when an automation makes the change, so the stream can tell; any other write clears the mark. */
  mark?: AutomationMark;
}

/** What a write's rules need of an item: the item and its child counts, never its child edges. */
export interface ItemCore<T> {
  item: T;
  counts: Record<string, number>;
  /** Bumped by every connect that guards this item; a delete conditions on the value it read. */
  edgeSeq?: number;
  /** The cascade job deleting this item (only with includeDeleting). */
  deleting?: string;
}

/** Items a cascade job has marked read as gone, unless the caller asks for them (the delete itself). */
export interface ReadOptions {
  includeDeleting?: boolean;
}

/** With parents: the item's parent edges too (they sort between #META and the children). */
export interface ItemWithParents<T> extends ItemCore<T> {
  parents: Edge[];
}

export interface ItemHeader<T> extends ItemWithParents<T> {
  children: Edge[];
  complete: boolean;
}

export class ItemStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  key(orgId: string, kind: ItemKind, id: string) {
    return kind === 'card' ? keys.card(orgId, id) : keys.record(orgId, id);
  }

  indexKeys(orgId: string, kind: ItemKind, item: { id: string; title: string; pipeId?: string; phaseId?: string; databaseId?: string }) {
    const titleKey = gsi2.titleSortKey(normalizeTitle(item.title), item.id);
    return kind === 'card'
      ? {
          GSI1PK: gsi1.cardsOfPhase(orgId, item.pipeId!, item.phaseId!),
          GSI1SK: gsi1.byId(item.id),
          GSI2PK: gsi2.cardTitles(orgId, item.pipeId!),
          GSI2SK: titleKey,
          GSI3PK: gsi3.changesOfPipe(orgId, item.pipeId!),
        }
      : {
          GSI1PK: gsi1.recordsOfDatabase(orgId, item.databaseId!),
          GSI1SK: gsi1.byId(item.id),
          GSI2PK: gsi2.recordTitles(orgId, item.databaseId!),
          GSI2SK: titleKey,
          GSI3PK: gsi3.changesOfDatabase(orgId, item.databaseId!),
        };
  }

  /**
   * Writes a new card under a live pipe and phase, or a record under a live database, together
   * with `extra` writes (edges) in the same transaction. The first items are, in order: the new
   * item, the container check, and for cards the phase check.
   */
  async create(orgId: string, kind: ItemKind, entity: Card | DbRecord, extra: TransactItem[] = []): Promise<'ok' | 'containerGone' | 'phaseClosed'> {
    try {
      await transactWrite(this.doc, [...this.createItems(orgId, kind, entity), ...extra]);
      return 'ok';
    } catch (error) {
      if (error instanceof TransactionCancelled) {
        if (error.failed(1)) return 'containerGone';
        if (kind === 'card' && error.failed(2)) return 'phaseClosed';
      }
      throw error;
    }
  }

  createItems(orgId: string, kind: ItemKind, entity: Card | DbRecord): TransactItem[] {
    const isCard = kind === 'card';
    const card = entity as Card;
    const record = entity as DbRecord;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: {
            ...this.key(orgId, kind, entity.id),
            ...this.indexKeys(orgId, kind, entity),
            entity: isCard ? ENTITY.card : ENTITY.record,
            orgId,
            [PARENT_LINKS]: 0,
            ...entity,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      containerLive(orgId, isCard ? 'pipe' : 'database', isCard ? card.pipeId : record.databaseId, this.table),
    ];
    if (isCard) items.push(this.phaseOpen(orgId, card.pipeId, card.phaseId));
    return items;
  }

  phaseOpen(orgId: string, pipeId: string, phaseId: string): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.table,
        Key: keys.phase(orgId, pipeId, phaseId),
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(closing)',
      },
    };
  }

  /**
   * The item's header in one strongly consistent Query page: the item, its child counts, its
   * parents and as many children as fit (the sort keys put children last). `complete` says
   * whether every child was returned.
   */
  async getWithEdges<T>(orgId: string, kind: ItemKind, id: string, limit = HEADER_PAGE, options: ReadOptions = {}): Promise<ItemHeader<T> | null> {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': this.key(orgId, kind, id).PK },
      ConsistentRead: true,
      Limit: limit,
    });
    const meta = page.items.find((i) => i['SK'] === '#META');
    if (!meta || (meta['deleting'] && !options.includeDeleting)) return null;
    const counts: Record<string, number> = {};
    for (const item of page.items) if (item['entity'] === ENTITY.childCount) counts[item['connectionId'] as string] = item['count'] as number;
    return {
      item: strip<T>(meta),
      parents: page.items.filter((i) => i['entity'] === ENTITY.parentEdge).map((i) => strip<Edge>(i)),
      children: page.items.filter((i) => i['entity'] === ENTITY.childEdge).map((i) => strip<Edge>(i)),
      counts,
      complete: page.lastKey === undefined,
      ...(typeof meta['edgeSeq'] === 'number' ? { edgeSeq: meta['edgeSeq'] } : {}),
      ...(typeof meta['deleting'] === 'string' ? { deleting: meta['deleting'] } : {}),
    };
  }

  /**
   * The item and its child counts in one strongly consistent Query of the sort-key range
   * `#COUNT#…` to `#META` (with `parents`, up to the first child edge): the same size whatever
   * the number of children, which the write path must never read.
   */
  async getCore<T>(orgId: string, kind: ItemKind, id: string): Promise<ItemCore<T> | null>;
  async getCore<T>(orgId: string, kind: ItemKind, id: string, parents: true): Promise<ItemWithParents<T> | null>;
  async getCore<T>(orgId: string, kind: ItemKind, id: string, parents = false): Promise<ItemWithParents<T> | ItemCore<T> | null> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: parents ? 'PK = :pk AND SK BETWEEN :from AND :to' : 'PK = :pk AND SK BETWEEN :from AND :meta',
      ExpressionAttributeValues: {
        ':pk': this.key(orgId, kind, id).PK,
        ':from': EDGE_PREFIX.count,
        ...(parents ? { ':to': `${EDGE_PREFIX.parent}\uffff` } : { ':meta': META }),
      },
      ConsistentRead: true,
    });
    const meta = items.find((i) => i['SK'] === META);
    // An item a cascade job has marked is gone to writers too, also to those that would write nothing.
    if (!meta || meta['deleting']) return null;
    const counts: Record<string, number> = {};
    for (const item of items) if (item['entity'] === ENTITY.childCount) counts[item['connectionId'] as string] = item['count'] as number;
    return {
      item: strip<T>(meta),
      counts,
      ...(parents ? { parents: items.filter((i) => i['entity'] === ENTITY.parentEdge).map((i) => strip<Edge>(i)) } : {}),
      ...(typeof meta['edgeSeq'] === 'number' ? { edgeSeq: meta['edgeSeq'] } : {}),
    };
  }

  /** Whether the item has a parent through a connection: a Query of at most one edge. */
  async hasParent(orgId: string, kind: ItemKind, id: string, connectionId: string): Promise<Edge | null> {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': this.key(orgId, kind, id).PK, ':prefix': `${EDGE_PREFIX.parent}${connectionId}#` },
      ConsistentRead: true,
      Limit: 1,
    });
    return page.items[0] ? strip<Edge>(page.items[0]) : null;
  }

  async get<T>(orgId: string, kind: ItemKind, id: string): Promise<T | null> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.key(orgId, kind, id), ConsistentRead: true }));
    return item && !item['deleting'] ? strip<T>(item) : null;
  }

  /**
   * Merges values field by field, so concurrent updates of different fields both survive.
   * With an expected version (If-Match) the update is refused if the item changed meanwhile.
   * Returns null when the item is gone or the version does not match.
   */
  async updateValues<T>(orgId: string, kind: ItemKind, id: string, change: ValuesChange, expectedVersion?: number): Promise<T | null> {
    const update = this.valuesUpdate(orgId, kind, id, change, expectedVersion).Update!;
    try {
      const result = await this.doc.send(new UpdateCommand({ ...update, ReturnValues: 'ALL_NEW' }));
      return strip<T>(result.Attributes as Item);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  /** The update of `updateValues` as a transaction item, for writes that go with edge changes. */
  valuesUpdate(orgId: string, kind: ItemKind, id: string, change: ValuesChange, expectedVersion?: number, addsEdges = false): TransactItem {
    const names: Record<string, string> = Object.keys(change.values).length ? { '#values': 'values' } : {};
    const values: Record<string, unknown> = { ':one': 1, ':now': change.now };
    const set = ['version = version + :one', 'updatedAt = :now'];
    // Connection-field changes add edges under this item: bump its edge sequence as a connect would.
    if (addsEdges) {
      set.push('edgeSeq = if_not_exists(edgeSeq, :zero) + :one');
      values[':zero'] = 0;
    }
    // Whatever propagation or an automation marked on the item no longer describes this change.
    const remove: string[] = [];
    if (change.mark) {
      names['#by'] = 'changedBy';
      values[':by'] = change.mark;
      set.push('#by = :by');
    } else remove.push('changedBy');
    Object.entries(change.values).forEach(([fieldId, value], i) => {
      names[`#f${i}`] = fieldId;
      if (value === null) remove.push(`#values.#f${i}`);
      else {
        values[`:f${i}`] = value;
        set.push(`#values.#f${i} = :f${i}`);
      }
    });
    const top = setClauses({ ...(change.title !== undefined ? { title: change.title } : {}), ...change.indexKeys }, 't');
    Object.assign(names, top.names);
    Object.assign(values, top.values);
    set.push(...top.set);
    if (expectedVersion !== undefined) values[':expected'] = expectedVersion;
    return {
      Update: {
        TableName: this.table,
        Key: this.key(orgId, kind, id),
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        // An item a cascade job has marked is gone for writers too.
        ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(deleting)${expectedVersion !== undefined ? ' AND version = :expected' : ''}`,
        ExpressionAttributeNames: Object.keys(names).length ? names : undefined,
        ExpressionAttributeValues: values,
      },
    };
  }

  /** The writes that move a card: guarded by the version it was read at and an open target phase. */
  moveItems(orgId: string, moved: Card, readVersion: number, parentsRefreshed = false): TransactItem[] {
    const top = setClauses(
      {
        phaseId: moved.phaseId,
        phaseHistory: moved.phaseHistory,
        finishedAt: moved.finishedAt,
        updatedAt: moved.updatedAt,
        GSI1PK: gsi1.cardsOfPhase(orgId, moved.pipeId, moved.phaseId),
        // An automation's move keeps its mark; any other move clears what an earlier write marked.
        changedBy: moved.changedBy,
        // The version whose summary every parent already holds: the stream need not refresh them.
        [PARENTS_REFRESHED]: parentsRefreshed ? moved.version : undefined,
      },
      'm',
    );
    return [
      {
        Update: {
          TableName: this.table,
          Key: keys.card(orgId, moved.id),
          UpdateExpression: `SET ${[...top.set, 'version = version + :one'].join(', ')}${top.remove.length ? ` REMOVE ${top.remove.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(deleting) AND version = :read',
          ExpressionAttributeNames: top.names,
          ExpressionAttributeValues: { ...top.values, ':one': 1, ':read': readVersion },
        },
      },
      this.phaseOpen(orgId, moved.pipeId, moved.phaseId),
    ];
  }

  /**
   * The tombstone a delete writes in its own transaction: it takes the item's place in the
   * container's change log (GSI3, sorted by updatedAt = the deletion time) until its TTL, so
   * `updatedSince` reports the deletion to clients that mirror the container.
   */
  tombstone(
    orgId: string,
    kind: ItemKind,
    item: { id: string; version: number; title?: string; pipeId?: string; databaseId?: string },
    deletedAt: string,
  ): TransactItem {
    const container = kind === 'card' ? { pipeId: item.pipeId! } : { databaseId: item.databaseId! };
    return {
      Put: {
        TableName: this.table,
        Item: {
          ...keys.tombstone(orgId, item.id),
          GSI3PK: kind === 'card' ? gsi3.changesOfPipe(orgId, item.pipeId!) : gsi3.changesOfDatabase(orgId, item.databaseId!),
          entity: ENTITY.tombstone,
          orgId,
          id: item.id,
          ...container,
          deleted: true,
          // The item's activity shows what was deleted (domain/activity/activity.ts).
          ...(typeof item.title === 'string' ? { title: item.title } : {}),
          version: item.version,
          updatedAt: deletedAt,
          expiresAt: Math.floor(Date.parse(deletedAt) / 1000) + TOMBSTONE_TTL_SECONDS,
        },
      },
    };
  }

  /** Deletes an item; null when it is gone or (with an expected version) has changed. */
  async delete<T>(orgId: string, kind: ItemKind, id: string, expectedVersion?: number): Promise<T | null> {
    try {
      const result = await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: this.key(orgId, kind, id),
          ConditionExpression: `attribute_exists(PK)${expectedVersion !== undefined ? ' AND version = :expected' : ''}`,
          ExpressionAttributeValues: expectedVersion !== undefined ? { ':expected': expectedVersion } : undefined,
          ReturnValues: 'ALL_OLD',
        }),
      );
      return strip<T>(result.Attributes as Item);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  /**
   * One Query page of an index, raw (index keys kept, so a reader can resume after any item).
   * `range` is a key condition on the index sort key; reads are eventually consistent (GSIs).
   */
  async queryIndex(input: {
    index: 'GSI1' | 'GSI2' | 'GSI3';
    pkName: string;
    pk: string;
    skName: string;
    range?: { op: '>' | '>=' | '<' | '<=' | 'begins_with'; value: string } | { op: 'between'; value: string; to: string };
    forward: boolean;
    limit: number;
    startKey?: Item;
  }): Promise<{ items: Item[]; lastKey?: Item }> {
    const names: Record<string, string> = { '#pk': input.pkName };
    const values: Record<string, unknown> = { ':pk': input.pk };
    let condition = '#pk = :pk';
    if (input.range) {
      names['#sk'] = input.skName;
      values[':sk'] = input.range.value;
      if (input.range.op === 'begins_with') condition += ' AND begins_with(#sk, :sk)';
      else if (input.range.op === 'between') {
        values[':to'] = input.range.to;
        condition += ' AND #sk BETWEEN :sk AND :to';
      } else condition += ` AND #sk ${input.range.op} :sk`;
    }
    return queryPage(this.doc, {
      TableName: this.table,
      IndexName: input.index,
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: input.forward,
      Limit: input.limit,
      ExclusiveStartKey: input.startKey,
    });
  }

  /** A page of a GSI1 list (cards of a phase, records of a database), in creation order. */
  async listIndex(partition: string, limit: number, startKey?: Item): Promise<{ items: Item[]; lastKey?: Item }> {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': partition },
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
    // Items a cascade job is deleting are gone to readers already.
    return { items: page.items.filter((i) => !i['deleting']).map((i) => strip<Item>(i)), lastKey: page.lastKey };
  }
}
