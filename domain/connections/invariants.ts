/**
 * The connection graph's invariants, checked over everything an organization holds: edge
 * twins, edge ends, child counts, entry limits, the containers an edge's ends live in, the
 * copies of each connection definition, and summaries that stay inside the organization.
 *
 * This reads a whole organization with a Scan. It is an operator tool (infra/local/check-graph.ts)
 * and a test helper (test/support/graph.ts), never a request path: no handler may call it.
 */
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Connection, ItemSummary } from './model';
import type { ContainerRef, ItemType } from '../kernel/model';
import { containerPk, itemPk, itemTypeOf } from './store';
import type { Item } from '../kernel/dynamo';
import { EDGE_PREFIX, ENTITY, META, gsi1, keys, orgPrefix } from '../kernel/keys';

export interface GraphReport {
  /** Items the organization holds (every entity, not only the graph's). */
  items: number;
  /** Distinct edges (connection, parent, child), whether stored twice, once or half-broken. */
  edges: number;
  /** One specific sentence per broken invariant; empty when the graph is sound. */
  violations: string[];
  /**
   * Work in progress that is not a violation: one sentence per running cascade job (the items it
   * has marked are gone to readers and take no new edges). Empty once every job is done.
   */
  inProgress: string[];
}

/** Every item of an organization (Scan + begins_with filter: operator tool and tests only). */
export async function scanOrg(doc: DynamoDBDocumentClient, table: string, orgId: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'begins_with(PK, :prefix)',
        ExpressionAttributeValues: { ':prefix': orgPrefix(orgId) },
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey as Item | undefined;
  } while (startKey);
  return items;
}

/** Scans after the first that a violation must survive to be reported (see checkGraph). */
export const CONFIRMING_SCANS = 2;

/**
 * The checks over a Scan of the organization. A Scan is no snapshot: run while writes land (a
 * cascade job deleting, any request), it can read one partition before a transaction and another
 * after it, and see half an edge that never existed alone. So what a scan finds broken is looked
 * at again: only violations every one of CONFIRMING_SCANS more scans finds as well are reported
 * (a write in flight is over by then; a lasting violation is found each time). A sound graph
 * costs one scan.
 */
export async function checkGraph(doc: DynamoDBDocumentClient, table: string, orgId: string): Promise<GraphReport> {
  let report = checkItems(orgId, await scanOrg(doc, table, orgId));
  for (let scan = 0; scan < CONFIRMING_SCANS && report.violations.length > 0; scan++) {
    const again = checkItems(orgId, await scanOrg(doc, table, orgId));
    const seenAgain = new Set(again.violations);
    report = { ...again, violations: report.violations.filter((v) => seenAgain.has(v)) };
  }
  return report;
}

type EdgeKind = 'child' | 'parent';

interface EdgeRow {
  kind: EdgeKind;
  item: Item;
  connectionId: string;
  parentId: string;
  childId: string;
}

interface LogicalEdge {
  connectionId: string;
  parentId: string;
  childId: string;
  child?: EdgeRow;
  parent?: EdgeRow;
}

const keyOf = (pk: unknown, sk: unknown) => `${String(pk)}\u0000${String(sk)}`;
const at = (item: Item) => `${String(item['PK'])} / ${String(item['SK'])}`;
const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);
const kindLabel = (kind: EdgeKind) => (kind === 'child' ? 'CHILD#' : '#PARENT#');
const edgeName = (e: { connectionId: string; parentId: string; childId: string }) => `${e.connectionId} parent ${e.parentId} -> child ${e.childId}`;
const itemEntity = (type: ItemType) => (type === 'card' ? ENTITY.card : ENTITY.record);
const containerEntity = (ref: ContainerRef) => (ref.type === 'pipe' ? ENTITY.pipe : ENTITY.database);

/** The same checks over items already read (the pure half, usable on any snapshot). */
export function checkItems(orgId: string, items: Item[]): GraphReport {
  const prefix = orgPrefix(orgId);
  const violations: string[] = [];
  const byKey = new Map<string, Item>();
  for (const item of items) {
    byKey.set(keyOf(item['PK'], item['SK']), item);
    // Trivially true for a filtered Scan; kept so the function stays honest on any input.
    if (!String(item['PK']).startsWith(prefix)) violations.push(`item ${at(item)} lies outside organization ${orgId} (its PK does not start with ${prefix})`);
  }
  const get = (key: { PK: string; SK: string }) => byKey.get(keyOf(key.PK, key.SK));

  /** The #META item of a card or record, if it exists and is what its id says. */
  const itemMeta = (id: string): Item | undefined => {
    const type = itemTypeOf(id);
    const meta = get({ PK: itemPk(orgId, type, id), SK: META });
    return meta && meta['entity'] === itemEntity(type) ? meta : undefined;
  };
  const containerOfItem = (id: string, meta: Item): ContainerRef => {
    const type = itemTypeOf(id);
    return type === 'card' ? { type: 'pipe', id: String(meta['pipeId']) } : { type: 'database', id: String(meta['databaseId']) };
  };

  // --- Connection definitions and their copies (6) ---------------------------------------
  const connections = new Map<string, Connection & { deleting?: boolean }>();
  for (const item of items) {
    if (item['entity'] !== ENTITY.connection || item['SK'] !== META) continue;
    const id = str(item['id']);
    if (!id) {
      violations.push(`connection definition at ${at(item)} has no id`);
      continue;
    }
    if (item['PK'] !== keys.connection(orgId, id).PK) violations.push(`connection ${id} is stored at ${at(item)}, not under ${keys.connection(orgId, id).PK}`);
    connections.set(id, item as unknown as Connection & { deleting?: boolean });
  }
  for (const [id, connection] of connections) {
    if (connection.deleting) violations.push(`connection ${id} is marked deleting: an interrupted delete (repeat DELETE /v1/connections/${id}?cascade=true)`);
    const ends: Array<['parent' | 'child', ContainerRef | undefined]> = [
      ['parent', connection.parent],
      ['child', connection.child],
    ];
    for (const [role, ref] of ends) {
      if (!ref || (ref.type !== 'pipe' && ref.type !== 'database') || !str(ref.id)) {
        violations.push(`connection ${id} has no valid ${role} container (${JSON.stringify(ref)})`);
        continue;
      }
      const pk = containerPk(orgId, ref);
      const container = get({ PK: pk, SK: META });
      if (!container || container['entity'] !== containerEntity(ref)) violations.push(`connection ${id}: its ${role} ${ref.type} ${ref.id} does not exist`);
      const copyKey = role === 'parent' ? keys.connectionOut(pk, id) : keys.connectionIn(pk, id);
      const copyPrefix = role === 'parent' ? EDGE_PREFIX.connOut : EDGE_PREFIX.connIn;
      const copy = get(copyKey);
      if (!copy) violations.push(`connection ${id} has no ${copyPrefix} copy in its ${role} ${ref.type} ${ref.id}`);
      else if (copy['version'] !== connection.version) {
        violations.push(
          `${copyPrefix} copy of connection ${id} in ${ref.type} ${ref.id} is at version ${String(copy['version'])}, the definition at ${String(connection.version)}`,
        );
      }
    }
    if (connection.entries !== 'single' && connection.entries !== 'multiple')
      violations.push(`connection ${id} has entries ${JSON.stringify(connection.entries)}, neither single nor multiple`);
  }
  for (const item of items) {
    const sk = String(item['SK']);
    const isOut = sk.startsWith(EDGE_PREFIX.connOut);
    if (!isOut && !sk.startsWith(EDGE_PREFIX.connIn)) continue;
    const copyPrefix = isOut ? EDGE_PREFIX.connOut : EDGE_PREFIX.connIn;
    const id = sk.slice(copyPrefix.length);
    const expectedEntity = isOut ? ENTITY.connectionOut : ENTITY.connectionIn;
    if (item['entity'] !== expectedEntity) violations.push(`${copyPrefix} copy at ${at(item)} has entity ${String(item['entity'])}, not ${expectedEntity}`);
    const connection = connections.get(id);
    if (!connection) {
      violations.push(`${copyPrefix} copy of connection ${id} at ${String(item['PK'])} has no definition (no ${keys.connection(orgId, id).PK} #META)`);
      continue;
    }
    const ref = isOut ? connection.parent : connection.child;
    if (ref && str(ref.id) && item['PK'] !== containerPk(orgId, ref)) {
      violations.push(`${copyPrefix} copy of connection ${id} lives in ${String(item['PK'])}, not in its ${isOut ? 'parent' : 'child'} ${ref.type} ${ref.id}`);
    }
  }

  // --- Edges: read both halves, key them by (connection, parent, child) ------------------
  const logical = new Map<string, LogicalEdge>();
  for (const item of items) {
    const sk = String(item['SK']);
    const kind: EdgeKind | undefined = sk.startsWith(EDGE_PREFIX.child) ? 'child' : sk.startsWith(EDGE_PREFIX.parent) ? 'parent' : undefined;
    if (!kind) continue;
    const expectedEntity = kind === 'child' ? ENTITY.childEdge : ENTITY.parentEdge;
    if (item['entity'] !== expectedEntity)
      violations.push(`${kindLabel(kind)} edge at ${at(item)} has entity ${String(item['entity'])}, not ${expectedEntity}`);
    const connectionId = str(item['connectionId']);
    const parentId = str(item['parentId']);
    const childId = str(item['childId']);
    if (!connectionId || !parentId || !childId) {
      violations.push(`${kindLabel(kind)} edge at ${at(item)} lacks connectionId, parentId or childId`);
      continue;
    }
    const row: EdgeRow = { kind, item, connectionId, parentId, childId };
    const expected =
      kind === 'child'
        ? keys.childEdge(itemPk(orgId, itemTypeOf(parentId), parentId), connectionId, childId)
        : keys.parentEdge(itemPk(orgId, itemTypeOf(childId), childId), connectionId, parentId);
    if (expected.PK !== item['PK'] || expected.SK !== item['SK']) {
      violations.push(`${kindLabel(kind)} edge ${edgeName(row)} is stored at ${at(item)}, not at ${expected.PK} / ${expected.SK}`);
    }
    if (kind === 'child' && item['GSI1PK'] !== gsi1.edgesOfConnection(orgId, connectionId)) {
      violations.push(
        `CHILD# edge ${edgeName(row)} has GSI1PK ${String(item['GSI1PK'])}, not ${gsi1.edgesOfConnection(orgId, connectionId)}: deleting the connection would miss it`,
      );
    }
    const id = `${connectionId}\u0000${parentId}\u0000${childId}`;
    const edge = logical.get(id) ?? { connectionId, parentId, childId };
    edge[kind] = row;
    logical.set(id, edge);
  }

  // Summaries (7): each half describes its far end, an item of this organization.
  const checkSummary = (row: EdgeRow) => {
    const label = `${kindLabel(row.kind)} edge ${edgeName(row)}`;
    const farRole = row.kind === 'child' ? 'child' : 'parent';
    const farId = row.kind === 'child' ? row.childId : row.parentId;
    const summary = row.item['summary'] as Partial<ItemSummary> | undefined;
    const summaryId = str(summary?.id);
    if (!summary || !summaryId) {
      violations.push(`${label} has no summary of its ${farRole}`);
      return;
    }
    if (summaryId !== farId) violations.push(`${label}: its summary names ${summaryId}, not the ${farRole} ${farId}`);
    const meta = itemMeta(summaryId);
    if (!meta) {
      violations.push(`${label}: its summary names ${summaryId}, which is no item of organization ${orgId}`);
      return;
    }
    if (summary.type !== itemTypeOf(summaryId)) violations.push(`${label}: its summary says ${summaryId} is a ${String(summary.type)}`);
    const container = containerOfItem(summaryId, meta);
    if (summary.containerId !== container.id)
      violations.push(`${label}: its summary puts ${summaryId} in ${String(summary.containerId)}, but it lives in ${container.type} ${container.id}`);
  };

  const childEdgesPer = new Map<string, number>();
  const perParent = (connectionId: string, parentId: string) => `${connectionId}\u0000${parentId}`;
  for (const edge of logical.values()) {
    const name = edgeName(edge);
    // (1) twins
    if (edge.child && !edge.parent) violations.push(`CHILD# edge ${name} has no #PARENT# twin`);
    if (edge.parent && !edge.child) violations.push(`#PARENT# edge ${name} has no CHILD# twin`);
    if (edge.child) childEdgesPer.set(perParent(edge.connectionId, edge.parentId), (childEdgesPer.get(perParent(edge.connectionId, edge.parentId)) ?? 0) + 1);
    for (const row of [edge.child, edge.parent]) if (row) checkSummary(row);
    // (2) ends
    const parentMeta = itemMeta(edge.parentId);
    const childMeta = itemMeta(edge.childId);
    if (!parentMeta) violations.push(`edge ${name}: parent ${edge.parentId} does not exist`);
    if (!childMeta) violations.push(`edge ${name}: child ${edge.childId} does not exist`);
    if (edge.parentId === edge.childId) violations.push(`edge ${name}: ${edge.parentId} is its own child`);
    // (5) definition and containers
    const connection = connections.get(edge.connectionId);
    if (!connection) {
      violations.push(`edge ${name}: connection ${edge.connectionId} does not exist`);
      continue;
    }
    const ends: Array<['parent' | 'child', string, Item | undefined, ContainerRef]> = [
      ['parent', edge.parentId, parentMeta, connection.parent],
      ['child', edge.childId, childMeta, connection.child],
    ];
    for (const [role, id, meta, ref] of ends) {
      if (!meta || !ref) continue;
      const actual = containerOfItem(id, meta);
      if (actual.type !== ref.type || actual.id !== ref.id) {
        violations.push(
          `edge ${name}: ${role} ${id} is in ${actual.type} ${actual.id}, but connection ${edge.connectionId} takes ${role === 'parent' ? 'parents' : 'children'} from ${ref.type} ${ref.id}`,
        );
      }
    }
  }

  // --- Counts (3) and limits (4) ----------------------------------------------------------
  const counted = new Set<string>();
  for (const item of items) {
    if (!String(item['SK']).startsWith(EDGE_PREFIX.count)) continue;
    if (item['entity'] !== ENTITY.childCount) violations.push(`#COUNT# item at ${at(item)} has entity ${String(item['entity'])}, not ${ENTITY.childCount}`);
    const connectionId = str(item['connectionId']);
    const parentId = str(item['parentId']);
    if (!connectionId || !parentId) {
      violations.push(`#COUNT# item at ${at(item)} lacks connectionId or parentId`);
      continue;
    }
    const expected = keys.childCount(itemPk(orgId, itemTypeOf(parentId), parentId), connectionId);
    if (expected.PK !== item['PK'] || expected.SK !== item['SK']) {
      violations.push(`count of parent ${parentId} through connection ${connectionId} is stored at ${at(item)}, not at ${expected.PK} / ${expected.SK}`);
    }
    const id = perParent(connectionId, parentId);
    counted.add(id);
    const count = item['count'];
    const edges = childEdgesPer.get(id) ?? 0;
    if (typeof count !== 'number' || !Number.isInteger(count)) {
      violations.push(`count of parent ${parentId} through connection ${connectionId} is ${JSON.stringify(count)}, not a whole number (${edges} CHILD# edges)`);
    } else if (count !== edges) {
      violations.push(`count of parent ${parentId} through connection ${connectionId} is ${count}, but it has ${edges} CHILD# edge${edges === 1 ? '' : 's'}`);
    }
  }
  for (const [id, edges] of childEdgesPer) {
    const [connectionId, parentId] = id.split('\u0000') as [string, string];
    if (!counted.has(id))
      violations.push(`parent ${parentId} has ${edges} CHILD# edge${edges === 1 ? '' : 's'} through connection ${connectionId} but no #COUNT# item`);
    const connection = connections.get(connectionId);
    if (!connection) continue;
    if (connection.entries === 'single' && edges > 1) {
      violations.push(`parent ${parentId} has ${edges} children through single-entry connection ${connectionId} (at most 1)`);
    } else if (connection.entries === 'multiple' && connection.maxChildren !== undefined && edges > connection.maxChildren) {
      violations.push(`parent ${parentId} has ${edges} children through connection ${connectionId} (maxChildren ${connection.maxChildren})`);
    }
  }

  // --- Cascade jobs (8): marks belong to a running job; a running job is work in progress ------
  const jobs = new Map<string, Item>();
  for (const item of items) if (item['entity'] === ENTITY.cascadeJob && item['SK'] === META) jobs.set(String(item['id']), item);
  const marked = new Map<string, number>();
  for (const item of items) {
    if ((item['entity'] !== ENTITY.card && item['entity'] !== ENTITY.record) || item['SK'] !== META || item['deleting'] === undefined) continue;
    const jobId = String(item['deleting']);
    const job = jobs.get(jobId);
    if (!job) violations.push(`${String(item['id'])} is marked deleting by job ${jobId}, which does not exist: a stranded mark`);
    else if (job['status'] !== 'running')
      violations.push(`${String(item['id'])} is still marked deleting by job ${jobId}, which ended ${String(job['status'])}: a stranded mark`);
    else marked.set(jobId, (marked.get(jobId) ?? 0) + 1);
  }
  const inProgress: string[] = [];
  for (const [id, job] of jobs) {
    if (job['status'] !== 'running') continue;
    const root = job['root'] as { type?: string; id?: string } | undefined;
    inProgress.push(
      `cascade job ${id} (delete of ${String(root?.id)}) is running: phase ${String(job['phase'])}, chunk ${Number(job['cursor']) + 1} of ${String(job['chunks'])}, ` +
        `${String(job['deleted'])} of ${String(job['total'])} items deleted, ${marked.get(id) ?? 0} marked (they read as gone and take no new edges)`,
    );
  }

  return { items: items.length, edges: logical.size, violations: violations.sort(), inProgress: inProgress.sort() };
}
