/**
 * Pipes and databases with their phases and fields. A container's definition lives in one
 * partition, so one strongly consistent Query reads it whole.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LRUCache } from 'lru-cache';
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

function pipeDefinition(items: Item[]): PipeDefinition {
  return {
    pipe: strip<Pipe>(items.find((i) => i['entity'] === ENTITY.pipe)!),
    phases: items.filter((i) => i['entity'] === ENTITY.phase && !i['closing']).map((i) => strip<Phase>(i)),
    fields: items.filter((i) => i['entity'] === ENTITY.field).map((i) => strip<Field>(i)),
    ...connectionsIn(items),
  };
}

function databaseDefinition(items: Item[]): DatabaseDefinition {
  return {
    database: strip<Database>(items.find((i) => i['entity'] === ENTITY.database)!),
    fields: items.filter((i) => i['entity'] === ENTITY.field).map((i) => strip<Field>(i)),
    ...connectionsIn(items),
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

/** Powertools Parameters' default maxAge: how long a definition may be reused where reuse is allowed. */
export const DEFINITION_MAX_AGE_MS = 5_000;
/** Definitions one container keeps at most (least recently used go first): bounded whatever the tenants. */
export const DEFINITION_CACHE_ENTRIES = 1_000;
/** And their total size, as JSON characters: a pipe may have 500 fields, so entries alone do not bound memory. */
export const DEFINITION_CACHE_CHARS = 16 * 1024 * 1024;

export interface DefinitionCacheOptions {
  /** Milliseconds a cached definition may be reused; 0 turns the cache off. */
  maxAgeMs?: number;
  maxEntries?: number;
  /** The clock ages are measured with (milliseconds; tests inject one). */
  now?: () => number;
}

type Definition = PipeDefinition | DatabaseDefinition;

/** A definition and whether it is this container's cached copy (up to max age old) rather than a fresh read. */
export interface RecentDefinition<D extends Definition> {
  definition: D;
  cached: boolean;
}

/** Cached copies are shared by requests: frozen, so no request can change another's. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The partition keys a group of writes changes (condition checks change nothing). */
function writtenPartitions(items: TransactItem[]): string[] {
  const pks = items.map((i) => i.Put?.Item?.['PK'] ?? i.Update?.Key?.['PK'] ?? i.Delete?.Key?.['PK']);
  return pks.filter((pk): pk is string => typeof pk === 'string');
}

export class ContainerStore {
  /**
   * Definitions by their container's partition key (org-scoped): only the paths that re-read
   * fresh before refusing anything use them (see recentPipe). Every definition write of this
   * store drops the entry; other containers may hold one up to max age old (README).
   */
  private readonly definitions: LRUCache<string, Definition> | null;
  /** Fresh reads in flight by partition: a write that lands meanwhile keeps their (maybe older) result out of the cache. */
  private readonly reading = new Map<string, Set<{ overtaken: boolean }>>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
    options: DefinitionCacheOptions = {},
  ) {
    const maxAge = options.maxAgeMs ?? DEFINITION_MAX_AGE_MS;
    const now = options.now;
    this.definitions =
      maxAge > 0
        ? new LRUCache<string, Definition>({
            max: options.maxEntries ?? DEFINITION_CACHE_ENTRIES,
            maxSize: DEFINITION_CACHE_CHARS,
            sizeCalculation: (definition) => JSON.stringify(definition).length,
            ttl: maxAge,
            // Age checked on every read, so max age is a bound, not an approximation.
            ttlResolution: 0,
            ...(now ? { perf: { now } } : {}),
          })
        : null;
  }

  /** Drops every cached definition (a container's first request; tests and the bench's cold rows). */
  forgetDefinitions(): void {
    this.definitions?.clear();
  }

  /** After a write (landed or not: a timeout may have landed), the partitions it touched are read fresh again. */
  private forget(pks: Iterable<string>): void {
    for (const pk of pks) {
      this.definitions?.delete(pk);
      for (const read of this.reading.get(pk) ?? []) read.overtaken = true;
    }
  }

  private async writing(pks: string[], write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } finally {
      this.forget(pks);
    }
  }

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
    const puts: TransactItem[] = items.map((Item) => ({ Put: { TableName: this.table, Item, ConditionExpression: 'attribute_not_exists(PK)' } }));
    await this.writing(writtenPartitions(puts), () => transactWrite(this.doc, puts));
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

  /** A strongly consistent read of a definition; it refreshes the cache unless a write overtook it. */
  private async readDefinition<D extends Definition>(key: { PK: string }, build: (items: Item[]) => D): Promise<D | null> {
    const read = { overtaken: false };
    const reads = this.reading.get(key.PK) ?? new Set();
    this.reading.set(key.PK, reads.add(read));
    try {
      const items = await this.readPartition(key);
      const definition = items ? build(items) : null;
      // The caller keeps its own copy; the cache keeps a frozen one.
      if (this.definitions && !read.overtaken) {
        if (definition) this.definitions.set(key.PK, deepFreeze(structuredClone(definition)));
        else this.definitions.delete(key.PK);
      }
      return definition;
    } finally {
      reads.delete(read);
      if (!reads.size) this.reading.delete(key.PK);
    }
  }

  private async recent<D extends Definition>(key: { PK: string }, build: (items: Item[]) => D): Promise<RecentDefinition<D> | null> {
    const cached = this.definitions?.get(key.PK) as D | undefined;
    if (cached) return { definition: cached, cached: true };
    const definition = await this.readDefinition(key, build);
    return definition ? { definition, cached: false } : null;
  }

  /** The pipe's definition, read fresh (strongly consistent). */
  async loadPipe(orgId: string, pipeId: string): Promise<PipeDefinition | null> {
    return this.readDefinition(keys.pipe(orgId, pipeId), pipeDefinition);
  }

  async loadDatabase(orgId: string, databaseId: string): Promise<DatabaseDefinition | null> {
    return this.readDefinition(keys.database(orgId, databaseId), databaseDefinition);
  }

  /**
   * The pipe's definition, possibly this container's cached copy (up to max age old, frozen).
   * Only for a path that re-reads fresh before it refuses anything or changes connections
   * (a values PATCH), or that only shows things (a GET): never for moves, creates, connects,
   * cascades or propagation.
   */
  async recentPipe(orgId: string, pipeId: string): Promise<RecentDefinition<PipeDefinition> | null> {
    return this.recent(keys.pipe(orgId, pipeId), pipeDefinition);
  }

  /** recentPipe for a database. */
  async recentDatabase(orgId: string, databaseId: string): Promise<RecentDefinition<DatabaseDefinition> | null> {
    return this.recent(keys.database(orgId, databaseId), databaseDefinition);
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
    await this.writing(writtenPartitions(items), () => transactWrite(this.doc, items));
  }

  /** A group of clean-up writes that is applied whole or, if a condition is already settled, not at all. */
  async transactOrSkip(items: TransactItem[]): Promise<void> {
    try {
      await this.transact(items);
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
      await this.transact(items);
    } catch (error) {
      if (!(error instanceof TransactionCancelled)) throw error;
      for (const item of items) {
        try {
          await this.transact([item]);
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
    await this.transact([
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
    await this.writing([key.PK], async () => {
      await batchDelete(this.doc, this.table, parts);
      await batchDelete(this.doc, this.table, [{ PK: key.PK, SK: '#META' }]);
    });
  }
}
