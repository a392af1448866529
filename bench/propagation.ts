/**
 * Propagation in `npm run bench`: a parent card with N children through a connection whose field
 * map syncs the parent's fields; the parent is updated through the API and the stream processor
 * (functions/streams/processor.ts, fed by the local StreamPoller from DynamoDB Local's stream)
 * carries the change to every child, FAN_OUT_CHUNK children per invocation.
 *
 * Per level of N and per synced field (a plain value, then the child's title):
 * - per-child lag: the child's updatedAt (stamped by the propagation write) minus the parent's
 *   updatedAt (stamped by the API when it accepted the change); the last child's lag is the time
 *   from the parent update to the last child updated; children/s = N ÷ that time;
 * - the time until the stream went quiet again (follow-on records of the children included);
 * - the DynamoDB requests the stream processor made (counted by an SDK middleware on the
 *   handlers' client, only inside stream handler invocations), per child;
 * - the baseline: in the same run, a plain sequential loop of UpdateItem calls (no condition, no
 *   stream work) writing the same attributes on the same N children through the same client;
 *   the ratio is propagation's time to the last child ÷ the loop's time.
 *
 * Children are created through the API (addCardChild) up to API_CREATE_UP_TO; above it the first
 * child is created through the API and the others are written with BatchWriteItem from the items
 * the API's own builders produce (prepareCard, ConnectionStore.edgeChanges), checked against the
 * API child's items attribute by attribute.
 *
 * The poller sees every record of the table (from TRIM_HORIZON, like the runtime's) but hands
 * the handler only those of the propagation organization: the request scenarios ran with the
 * stream processor stopped, and their backlog is not part of this measurement.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { prepareCard } from '../domain/cards/cards';
import { presetFromParent } from '../domain/connections/field-map';
import { syncedPipes } from '../test/support/fixtures';
import type { UseCaseContext } from '../domain/kernel/context';
import { bornWithParent, summaryOf } from '../domain/connections/edges';
import type { Card } from '../domain/cards/model';
import type { ItemSummary } from '../domain/connections/model';
import type { PipeDefinition } from '../domain/pipes/model';
import { normalizeTitle } from '../domain/fields/field-types';
import { FAN_OUT_CHUNK } from '../domain/propagation/stream';
import { documentClient, dynamoClient } from '../domain/kernel/client';
import { itemPk } from '../domain/connections/store';
import { actorOfPrincipal } from '../domain/kernel/auth';
import { runAs } from '../domain/kernel/actor';
import type { Item, TransactItem } from '../domain/kernel/dynamo';
import { checkGraph } from '../domain/connections/invariants';
import { EDGE_PREFIX, gsi2, keys, orgPrefix } from '../domain/kernel/keys';
import { createStreamHandler } from '../functions/streams/processor';
import { store } from '../functions/shared/store';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../infra/local/dynamodb-local';
import { StreamPoller } from '../infra/local/stream-poller';
import type { Api } from './scenarios';

export const DEFAULT_LEVELS = [10, 100, 1000, 10_000];
/** Levels up to this many children are created through the API; larger ones are written directly. */
export const API_CREATE_UP_TO = 1000;
const API_CONCURRENCY = 4;
const DIRECT_CHILDREN_PER_BATCH = 100;
const BATCH_WRITE_CONCURRENCY = 4;

export interface PropagationOptions {
  orgId: string;
  api: Api;
  endpoint: string;
  tableName: string;
  /** Children counts, ascending. */
  levels: number[];
  /** Also check the organization's graph invariants at the end (a Scan of the table). */
  checkGraph?: boolean;
  log?: (line: string) => void;
}

export type Variant = 'value' | 'title';

export interface PropagationRow {
  children: number;
  created: string;
  variant: Variant;
  /** The update request, from the parent's updatedAt to the response (ms). */
  updateRequestMs: number;
  firstChildMs: number;
  medianLagMs: number;
  p99LagMs: number;
  lastChildMs: number;
  childrenPerSecond: number;
  /** From the parent's updatedAt until the last stream batch of the organization was handled. */
  settledMs: number;
  updated: number;
  streamRecords: number;
  streamBatches: number;
  requests: Record<string, number>;
  conditionFailures: Record<string, number>;
  requestsPerChild: number;
  /** Per chunk of FAN_OUT_CHUNK children (edge order): span of its writes, gap to the next chunk. */
  chunks: { count: number; meanWriteSpanMs: number; meanHandOffMs: number; maxHandOffMs: number };
  baselineMs: number;
  baselinePerSecond: number;
  ratio: number;
}

export interface PropagationResult {
  fanOutChunk: number;
  apiCreateUpTo: number;
  rows: PropagationRow[];
  setup: Array<{ children: number; created: string; seconds: number; shapeCheck?: string }>;
  deadLetters: number;
  graph?: { items: number; edges: number; violations: string[]; seconds: number };
  pollerIdleMs: number;
  errors: string[];
}

const quantile = (xs: number[], q: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

// --- counting the stream processor's requests: an SDK middleware on the handlers' client that
// counts only inside a handler invocation (AsyncLocalStorage follows the handler's promises).
interface Counter {
  ok: Record<string, number>;
  conditionFailed: Record<string, number>;
}
const inStream = new AsyncLocalStorage<true>();
let counting: Counter | undefined;
let counterInstalled = false;
function installCounter() {
  if (counterInstalled) return;
  counterInstalled = true;
  const middleware = (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
    const counter = inStream.getStore() ? counting : undefined;
    if (!counter) return next(args);
    const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    try {
      const result = await next(args);
      counter.ok[command] = (counter.ok[command] ?? 0) + 1;
      return result;
    } catch (error) {
      const bucket = (error as Error).name === 'ConditionalCheckFailedException' ? counter.conditionFailed : counter.ok;
      bucket[command] = (bucket[command] ?? 0) + 1;
      throw error;
    }
  };
  dynamoClient.middlewareStack.add(middleware as never, { step: 'build', priority: 'high', name: 'benchStreamCounter' });
}

const TWO_FIELD_PIPE = (name: string) => ({
  name,
  startFormFields: [
    { label: 'Name', type: 'short_text', isTitle: true },
    { label: 'Tier', type: 'single_select', options: ['Gold', 'Silver', 'Bronze'] },
  ],
});

/** The bench's synced pipes: the tests' fixture, with the bench's pipe and names. */
export const createSyncedPipes = async (api: Api, pipe: (name: string) => object) => {
  const { f, ...rest } = await syncedPipes(api, pipe, { parent: 'Accounts', child: 'Account tasks', connection: 'Tasks' });
  return { ...rest, ...f };
};

export async function runPropagation(options: PropagationOptions): Promise<PropagationResult> {
  const { orgId, api, endpoint, tableName } = options;
  const log = options.log ?? (() => undefined);
  installCounter();

  // Uncounted reads and the poller's own clients are separate from the handlers' client.
  const raw = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const rawDoc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });

  // --- pipes and the synced connection
  const { parentPipe, childPipe, connection, pName, pTier, cName, cTier } = await createSyncedPipes(api, TWO_FIELD_PIPE);

  // A card of the parent pipe without children: its updates mark the end of the stream (catchUp).
  const marker = (await api('createCard', { params: { pipeId: parentPipe.id }, body: { values: { [pName]: 'Stream marker', [pTier]: 'Gold' } } })).body;

  // --- the stream: the processor's handler, given only this organization's records
  const inner = createStreamHandler();
  const prefix = orgPrefix(orgId);
  const stats = { records: 0, batches: 0, lastHandledAt: 0 };
  let hold: Promise<void> | undefined;
  let skipping = false;
  /** Resolves when the poller has handed over the record of `pk` at `version` (or later). */
  const waiters: Array<{ pk: string; version: number; resolve: () => void }> = [];
  /** The highest version of each item whose record the poller handed over (the response may come after it). */
  const latest = new Map<string, number>();
  const reached = (pk: string, version: number) =>
    new Promise<void>((resolve, reject) => {
      if ((latest.get(pk) ?? -1) >= version) return resolve();
      const timer = setTimeout(() => reject(new Error(`the stream did not deliver ${pk} version ${version} in time`)), 900_000);
      waiters.push({ pk, version, resolve: () => (clearTimeout(timer), resolve()) });
    });
  const handler = async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const mine = event.Records.filter((r) => ((r.dynamodb?.Keys?.['PK'] as { S?: string } | undefined)?.S ?? '').startsWith(prefix));
    if (!mine.length) return { batchItemFailures: [] };
    for (const r of mine) {
      const image = r.dynamodb?.NewImage as Record<string, { S?: string; N?: string }> | undefined;
      const pk = image?.['PK']?.S;
      const version = Number(image?.['version']?.N);
      if (!pk || !Number.isFinite(version)) continue;
      if (version > (latest.get(pk) ?? -1)) latest.set(pk, version);
      for (const w of waiters.filter((x) => x.pk === pk && version >= x.version)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    if (skipping) {
      // The baseline's own records: the poller waits here until the loop is done, then they are
      // acknowledged unprocessed (the baseline is "no stream").
      await hold;
      return { batchItemFailures: [] };
    }
    const response = await inStream.run(true, () => inner({ Records: mine }, context));
    stats.records += mine.length;
    stats.batches++;
    stats.lastHandledAt = Date.now();
    return response;
  };
  const poller = new StreamPoller({ endpoint, tableName, handler, onError: (error) => log(`stream poller: ${(error as Error).message}`) });
  await poller.start();
  const drain = () => poller.drain(300, 900_000);
  /**
   * StreamPoller.drain() alone can return while the poller is still behind: a GetRecords page
   * whose records the event filter drops all (edges, counts, pipes) counts as an idle cycle. So
   * write a record at the end of the stream (the marker card's Tier, through the API), wait for
   * the poller to hand it over, then drain.
   */
  let markerTier = 'Gold';
  const catchUp = async () => {
    markerTier = markerTier === 'Gold' ? 'Bronze' : 'Gold';
    const updated = (await api('updateCard', { params: { cardId: marker.id }, body: { values: { [pTier]: markerTier } } })).body;
    await reached(keys.card(orgId, marker.id).PK, updated.version);
    await drain();
  };

  const result: PropagationResult = {
    fanOutChunk: FAN_OUT_CHUNK,
    apiCreateUpTo: API_CREATE_UP_TO,
    rows: [],
    setup: [],
    deadLetters: 0,
    pollerIdleMs: 100,
    errors: [],
  };
  try {
    const backlogStarted = Date.now();
    await catchUp();
    log(`propagation: stream poller caught up with the table's stream in ${((Date.now() - backlogStarted) / 1000).toFixed(1)} s`);
    for (const n of options.levels) {
      const started = Date.now();
      const parent = (await api('createCard', { params: { pipeId: parentPipe.id }, body: { values: { [pName]: `Account ${n}`, [pTier]: 'Gold' } } })).body;
      let created: string;
      let shapeCheck: string | undefined;
      if (n <= API_CREATE_UP_TO) {
        for (let i = 0; i < n; i += API_CONCURRENCY) {
          await Promise.all(
            Array.from({ length: Math.min(API_CONCURRENCY, n - i) }, () =>
              api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: {} } }),
            ),
          );
        }
        created = 'API';
      } else {
        shapeCheck = await createDirect(
          { api, orgId, tableName, rawDoc, connectionId: connection.id, parentPipeId: parentPipe.id, childPipeId: childPipe.id },
          parent.id,
          n,
        );
        created = 'direct';
      }
      await catchUp();
      const seconds = (Date.now() - started) / 1000;
      result.setup.push({ children: n, created, seconds, ...(shapeCheck ? { shapeCheck } : {}) });
      log(`propagation: ${n.toLocaleString('en')} children created (${created}) in ${seconds.toFixed(1)} s`);

      const children = await childIds(parent.id);
      if (children.length !== n) throw new Error(`parent ${parent.id} has ${children.length} children, expected ${n}`);
      const variants: Array<{ variant: Variant; parentField: string; childField: string; value: string }> = [
        { variant: 'value', parentField: pTier, childField: cTier, value: 'Silver' },
        { variant: 'title', parentField: pName, childField: cName, value: `Account ${n} renamed` },
      ];
      for (const v of variants) {
        try {
          const row = await measure(parent.id, children, v, created);
          result.rows.push(row);
          log(
            `propagation ${n} children (${v.variant}): last child ${row.lastChildMs.toFixed(0)} ms, median ${row.medianLagMs.toFixed(0)} ms, ` +
              `${row.childrenPerSecond.toFixed(0)} children/s, ${row.requestsPerChild.toFixed(2)} requests/child; baseline ${row.baselineMs.toFixed(0)} ms (${row.ratio.toFixed(2)}×)`,
          );
        } catch (error) {
          const message = `${n} children, ${v.variant}: ${(error as Error).message.split('\n')[0]}`;
          result.errors.push(message);
          log(`propagation: FAILED ${message}`);
        }
      }
    }

    result.deadLetters = poller.deadLetters.length;
    if (options.checkGraph) {
      const t = Date.now();
      const report = await checkGraph(rawDoc, tableName, orgId);
      result.graph = { items: report.items, edges: report.edges, violations: report.violations.slice(0, 10), seconds: (Date.now() - t) / 1000 };
    }
  } finally {
    await poller.stop();
    raw.destroy();
  }
  return result;

  // -------------------------------------------------------------------------------------------

  /** The parent's children in edge order (the order propagation pages through them). */
  async function childIds(parentId: string): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await rawDoc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
          ExpressionAttributeValues: { ':pk': itemPk(orgId, 'card', parentId), ':prefix': EDGE_PREFIX.child },
          ProjectionExpression: 'childId',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) ids.push(item['childId'] as string);
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  /** updatedAt and one value of each child (BatchGetItem, 100 keys a request, uncounted). */
  async function readChildren(ids: string[], fieldId: string): Promise<Map<string, { updatedAt: string; value: unknown }>> {
    const out = new Map<string, { updatedAt: string; value: unknown }>();
    for (let i = 0; i < ids.length; i += 100) {
      let keysLeft: Item[] = ids.slice(i, i + 100).map((id) => keys.card(orgId, id));
      for (let attempt = 0; keysLeft.length; attempt++) {
        if (attempt > 20) throw new Error('BatchGetItem kept returning unprocessed keys');
        const page = await rawDoc.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: {
                Keys: keysLeft,
                ConsistentRead: true,
                ProjectionExpression: 'id, updatedAt, #values.#f',
                ExpressionAttributeNames: { '#values': 'values', '#f': fieldId },
              },
            },
          }),
        );
        for (const item of page.Responses?.[tableName] ?? []) {
          out.set(item['id'] as string, { updatedAt: item['updatedAt'] as string, value: (item['values'] as Record<string, unknown> | undefined)?.[fieldId] });
        }
        keysLeft = (page.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
      }
    }
    return out;
  }

  async function measure(
    parentId: string,
    ids: string[],
    v: { variant: Variant; parentField: string; childField: string; value: string },
    created: string,
  ): Promise<PropagationRow> {
    const n = ids.length;
    await catchUp();
    const counter: Counter = { ok: {}, conditionFailed: {} };
    const before = { records: stats.records, batches: stats.batches };
    counting = counter;
    let parentAt: number;
    let respondedAt: number;
    try {
      const response = await api('updateCard', { params: { cardId: parentId }, body: { values: { [v.parentField]: v.value } } });
      respondedAt = Date.now();
      parentAt = Date.parse(response.body.updatedAt);
      await reached(keys.card(orgId, parentId).PK, response.body.version);
      await drain();
    } finally {
      counting = undefined;
    }
    const settledMs = stats.lastHandledAt - parentAt;
    const children = await readChildren(ids, v.childField);
    const lags: number[] = [];
    let updated = 0;
    for (const id of ids) {
      const child = children.get(id);
      if (!child) continue;
      if (child.value === v.value) updated++;
      lags.push(Date.parse(child.updatedAt) - parentAt);
    }
    if (updated !== n) throw new Error(`${updated} of ${n} children hold the new value after the stream went quiet`);

    // Chunks in the order runChunk pages through the edges.
    const spans: number[] = [];
    const handOffs: number[] = [];
    for (let i = 0; i < lags.length; i += FAN_OUT_CHUNK) {
      const chunk = lags.slice(i, i + FAN_OUT_CHUNK);
      spans.push(Math.max(...chunk) - Math.min(...chunk));
      const next = lags.slice(i + FAN_OUT_CHUNK, i + 2 * FAN_OUT_CHUNK);
      if (next.length) handOffs.push(Math.min(...next) - Math.max(...chunk));
    }

    // --- baseline: the same attributes on the same children, one plain UpdateItem after the other
    let release!: () => void;
    hold = new Promise((r) => (release = r));
    skipping = true;
    const title = v.variant === 'title' ? v.value : undefined;
    let baseline = NaN;
    const t0 = process.hrtime.bigint();
    try {
      for (const id of ids) {
        await documentClient.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keys.card(orgId, id),
            UpdateExpression: `SET #values.#f = :v, updatedAt = :now, version = version + :one${title ? ', title = :title, GSI2SK = :g2' : ''}`,
            ExpressionAttributeNames: { '#values': 'values', '#f': v.childField },
            ExpressionAttributeValues: {
              ':v': v.value,
              ':now': new Date().toISOString(),
              ':one': 1,
              ...(title ? { ':title': title, ':g2': gsi2.titleSortKey(normalizeTitle(title), id) } : {}),
            },
          }),
        );
      }
      baseline = Number(process.hrtime.bigint() - t0) / 1e6;
    } finally {
      release();
      await catchUp();
      skipping = false;
      hold = undefined;
    }

    const requests = counter.ok;
    const total = Object.values(requests).reduce((a, b) => a + b, 0) + Object.values(counter.conditionFailed).reduce((a, b) => a + b, 0);
    const lastChildMs = Math.max(...lags);
    return {
      children: n,
      created,
      variant: v.variant,
      updateRequestMs: respondedAt - parentAt,
      firstChildMs: Math.min(...lags),
      medianLagMs: quantile(lags, 0.5),
      p99LagMs: quantile(lags, 0.99),
      lastChildMs,
      childrenPerSecond: n / (lastChildMs / 1000),
      settledMs,
      updated,
      streamRecords: stats.records - before.records,
      streamBatches: stats.batches - before.batches,
      requests,
      conditionFailures: counter.conditionFailed,
      requestsPerChild: total / n,
      chunks: { count: spans.length, meanWriteSpanMs: mean(spans), meanHandOffMs: mean(handOffs), maxHandOffMs: handOffs.length ? Math.max(...handOffs) : NaN },
      baselineMs: baseline,
      baselinePerSecond: n / (baseline / 1000),
      ratio: lastChildMs / baseline,
    };
  }
}

/**
 * Creates n children of a parent: the first through the API, the others from the items the
 * API's builders produce for a create-from-parent (prepareCard's card Put, edgeChanges' two
 * edge Puts), written with BatchWriteItem, then the count and the parent's edge sequence
 * updated once per batch of children (the API updates them once per child). The condition
 * checks of the API's transaction (containers live, edges new) hold by construction here.
 * Returns the result of comparing the direct items with the API child's, attribute by attribute.
 */
export async function createDirect(
  setup: { api: Api; orgId: string; tableName: string; rawDoc: DynamoDBDocumentClient; connectionId: string; parentPipeId: string; childPipeId: string },
  parentId: string,
  n: number,
): Promise<string> {
  const { api, orgId, tableName, rawDoc } = setup;
  const connection = { id: setup.connectionId };
  const parentPipe = { id: setup.parentPipeId };
  const childPipe = { id: setup.childPipeId };
  const apiChild = (await api('addCardChild', { params: { cardId: parentId }, body: { connectionId: connection.id, create: {} } })).body;
  const ctx: UseCaseContext = { principal: { orgId, role: 'admin', userId: apiChild.createdBy ?? 'bench' }, store };
  const childDef = (await store.containers.loadPipe(orgId, childPipe.id)) as PipeDefinition;
  const parentDef = (await store.containers.loadPipe(orgId, parentPipe.id)) as PipeDefinition;
  const conn = (await store.connections.get(orgId, connection.id))!;
  const parentCard = (await store.items.get<Card>(orgId, 'card', parentId))!;
  const preset = presetFromParent(conn.fieldMap, parentDef.fields, childDef.fields, parentCard.values);
  const parentSummary: ItemSummary = summaryOf('card', parentCard);
  // Written as the API writes them: stamped with the caller as lastActor.
  const firstDirect = await runAs(actorOfPrincipal(ctx.principal), () => writeDirect());
  async function writeDirect() {
    let firstDirect: string | undefined;
    for (let done = 1; done < n; done += DIRECT_CHILDREN_PER_BATCH) {
      const count = Math.min(DIRECT_CHILDREN_PER_BATCH, n - done);
      const prepared = await Promise.all(Array.from({ length: count }, () => prepareCard(ctx, childDef, {}, preset)));
      firstDirect ??= prepared[0]!.card.id;
      const now = new Date().toISOString();
      const edgeWrites = store.connections.edgeChanges(
        orgId,
        conn,
        parentSummary,
        prepared.map((p) => summaryOf('card', p.card)),
        [],
        now,
      );
      const writes: TransactItem[] = [...prepared.flatMap((p) => bornWithParent(p.steps, p.card.id).map((s) => s.item)), ...edgeWrites];
      const puts = writes.filter((w) => w.Put).map((w) => ({ PutRequest: { Item: w.Put!.Item } }));
      const updates = writes.filter((w) => w.Update).map((w) => w.Update!);
      if (puts.length !== 3 * count || updates.length !== 1)
        throw new Error(`unexpected create writes: ${puts.length} puts, ${updates.length} updates for ${count} children`);
      const requests: Array<typeof puts> = [];
      for (let i = 0; i < puts.length; i += 25) requests.push(puts.slice(i, i + 25));
      let next = 0;
      await Promise.all(
        Array.from({ length: BATCH_WRITE_CONCURRENCY }, async () => {
          while (next < requests.length) {
            let left = requests[next++]!;
            for (let attempt = 0; left.length; attempt++) {
              if (attempt > 20) throw new Error('BatchWriteItem kept returning unprocessed items');
              const out = await documentClient.send(new BatchWriteCommand({ RequestItems: { [tableName]: left } }));
              left = (out.UnprocessedItems?.[tableName] ?? []) as typeof left;
            }
          }
        }),
      );
      // The count (ADD count) and the parent's edge sequence and version, as the API's transaction updates them.
      await documentClient.send(new UpdateCommand(updates[0]! as never));
      const guard = store.connections.edgeTouch(orgId, 'card', parentId, parentPipe.id, new Date().toISOString(), { adding: true }).Update!;
      await documentClient.send(new UpdateCommand(guard as never));
    }
    return firstDirect;
  }

  // The direct items must be the API's, attribute for attribute.
  const shape = async (childId: string) => {
    const get = async (key: { PK: string; SK: string }) =>
      (await rawDoc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item ?? {};
    const names = (item: Record<string, unknown>) =>
      Object.entries(item)
        .flatMap(([k, value]) => (value && typeof value === 'object' && !Array.isArray(value) ? [k, ...Object.keys(value).map((s) => `${k}.${s}`)] : [k]))
        .sort()
        .join(',');
    return {
      card: names(await get(keys.card(orgId, childId))),
      childEdge: names(await get(keys.childEdge(itemPk(orgId, 'card', parentId), connection.id, childId))),
      parentEdge: names(await get(keys.parentEdge(itemPk(orgId, 'card', childId), connection.id, parentId))),
    };
  };
  const [viaApi, direct] = await Promise.all([shape(apiChild.id), shape(firstDirect!)]);
  const differing = (Object.keys(viaApi) as Array<keyof typeof viaApi>).filter((k) => viaApi[k] !== direct[k]);
  if (differing.length)
    throw new Error(`directly written items differ from the API's: ${differing.map((k) => `${k}: API ${viaApi[k]} / direct ${direct[k]}`).join('; ')}`);
  return 'its card, child edge and parent edge items have exactly the attributes of the API child’s';
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const count = (x: number) => x.toLocaleString('en');

function perChild(requests: Record<string, number>, failures: Record<string, number>, n: number, abbreviations: Record<string, string>): string {
  // Rare requests (once per chunk or per job) read better as totals than as 0.00 per child.
  const share = (k: number) => (k / n >= 0.005 ? (k / n).toFixed(2) : `${k} in all:`);
  const parts = Object.entries(requests)
    .sort((a, b) => b[1] - a[1])
    .map(([c, k]) => `${share(k)} ${abbreviations[c] ?? c}`);
  const failed = Object.entries(failures).map(([c, k]) => `${share(k)} ${abbreviations[c] ?? c} refused`);
  return [...parts, ...failed].join(', ');
}

export function propagationMarkdown(r: PropagationResult, abbreviations: Record<string, string>): string[] {
  const out: string[] = [];
  out.push('### Propagation: parent update → every child');
  out.push('');
  out.push(
    `A parent card with N children through one connection whose field map syncs the parent's Tier (a single select: **value**) and Name (the child's title field: **title**). ` +
      `The parent is updated through the API; the stream processor (functions/streams/processor.ts, fed by the local StreamPoller from DynamoDB Local's stream, batches of 100, idle poll ${r.pollerIdleMs} ms) ` +
      `carries the change to every child, ${r.fanOutChunk} children per invocation, continuing from a PropagationJob item. ` +
      `Lag = child's updatedAt (stamped when its propagation write is sent) − parent's updatedAt (stamped by the API before its write), both in this process, ms; the first child's lag includes the poller's wait for its next read. Update request = the API call, from that stamp to its response (a title change also refreshes the summaries in the parent's first header page of children synchronously). Children/s = N ÷ time to the last child. ` +
      `Settled = until the stream's last batch for the organization was handled (the children's own records included). ` +
      `Requests = DynamoDB requests of the stream handler invocations (SDK middleware on the handlers' client), per child. ` +
      `Baseline = in the same run, a plain sequential loop of UpdateItem calls (no condition, no stream work; its stream records acknowledged unprocessed) writing the same attributes to the same N children through the same client; ratio = time to last child ÷ loop time.`,
  );
  out.push('');
  out.push(
    '| children | synced | created | update request ms | first child ms | median lag ms | p99 lag ms | last child ms | children/s | settled ms | DynamoDB requests per child | baseline loop ms | baseline children/s | propagation ÷ baseline |',
  );
  out.push('|--:|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|');
  for (const row of r.rows) {
    const total = row.requestsPerChild.toFixed(2);
    out.push(
      `| ${count(row.children)} | ${row.variant} | ${row.created} | ${f0(row.updateRequestMs)} | ${f0(row.firstChildMs)} | ${f0(row.medianLagMs)} | ${f0(row.p99LagMs)} | ${f0(row.lastChildMs)} | ${f0(row.childrenPerSecond)} | ${f0(row.settledMs)} | ${total} (${perChild(row.requests, row.conditionFailures, row.children, abbreviations)}) | ${f0(row.baselineMs)} | ${f0(row.baselinePerSecond)} | ${row.ratio.toFixed(2)}× |`,
    );
  }
  for (const e of r.errors) out.push(`| **failed** | ${e.replaceAll('|', '\\|')} |||||||||||||`);
  const chunked = r.rows.filter((x) => x.chunks.count > 1);
  if (chunked.length) {
    out.push('');
    out.push(
      `Per chunk of ${r.fanOutChunk} children (edge order): the spread of the chunk's child writes, and the hand-off from a chunk's last write to the next chunk's first (the stream works through the chunk's ${r.fanOutChunk} child records, then reaches the job record).`,
    );
    out.push('');
    out.push('| children | synced | chunks | chunk writes ms (mean) | hand-off ms (mean) | hand-off ms (max) | stream records | stream batches |');
    out.push('|--:|---|--:|--:|--:|--:|--:|--:|');
    for (const row of chunked) {
      out.push(
        `| ${count(row.children)} | ${row.variant} | ${row.chunks.count} | ${f0(row.chunks.meanWriteSpanMs)} | ${f0(row.chunks.meanHandOffMs)} | ${f0(row.chunks.maxHandOffMs)} | ${count(row.streamRecords)} | ${count(row.streamBatches)} |`,
      );
    }
  }
  out.push('');
  const setup = r.setup.map((s) => `${count(s.children)} ${s.created} in ${s.seconds.toFixed(0)} s${s.shapeCheck ? ` (${s.shapeCheck})` : ''}`).join('; ');
  out.push(
    `How the children were made (setup, not in the table, stream drained before each measurement): **API** = every child created from the parent with addCardChild (4 requests at a time); ` +
      `**direct** = the first child through the API, the others written with BatchWriteItem from the very items the API's builders make for a create-from-parent (prepareCard's card, ConnectionStore.edgeChanges' child and parent edges), ` +
      `then the child count (ADD) and the parent's edge sequence updated once per 100 children instead of once per child; the condition checks of the API's transaction hold by construction. ${setup}. ` +
      `Dead letters: ${r.deadLetters}.${r.graph ? ` Graph invariants of the organization afterwards (${count(r.graph.items)} items, ${count(r.graph.edges)} edges, ${r.graph.seconds.toFixed(0)} s Scan): ${r.graph.violations.length ? `**${r.graph.violations.length} violations**: ${r.graph.violations.join('; ')}` : 'hold'}.` : ''}`,
  );
  return out;
}
