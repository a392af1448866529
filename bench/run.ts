/**
 * `npm run bench`: for each scenario of bench/scenarios.ts, the DynamoDB requests the operation
 * makes (counted by an SDK middleware on the handlers' own client), the capacity units they
 * consume by DynamoDB's sizing rules (bench/capacity.ts) next to the least the design allows,
 * and the median latency over the local HTTP gateway next to the DynamoDB calls inside it, all
 * in the same run; then the bundle sizes of the Lambda handlers (API modules and stream
 * handlers). Prints markdown and writes bench/last-run.json.
 *
 * Self-contained: starts its own in-memory DynamoDB Local and local gateway (the runtime of
 * `npm start`, without the demo seed, with its stream poller stopped) and uses fresh
 * organizations.
 *
 * Then propagation (bench/propagation.ts): a parent update carried by the stream processor to
 * 10, 100, 1,000 and 10,000 children, with a stream poller of its own, next to a plain
 * sequential UpdateItem loop over the same children.
 *
 * Then cascade deletes (bench/cascade.ts): a parent with 500 children under `cascade` deleted
 * through the API (202 and a job), next to a sequential DeleteItem loop over as many items.
 *
 * Then the query rows (bench/query.ts): list pages of one pipe of 10,000 cards (`--query-cards N`).
 *
 * Then the noisy neighbour (bench/noisy.ts): org X's synced-field propagation lag (p50, p99)
 * alone and while org W's webhook receiver hangs for 10 s, in the same run.
 * Then activity (bench/activity.ts): the activity and audit writes each operation adds, and the
 * cost of reading a page of activity (`--only activity` runs it alone, `--no-activity` skips it).
 *
 *   npm run bench -- [--iterations 30] [--warmup 3] [--only card | --only 'listCards|batch' | --only propagation | --only cascade] [--no-bundles]
 *                    [--max-children 10000] [--no-propagation] [--skip-graph-check]
 *                    [--cascade-children 500] [--cascade-runs 3] [--no-cascade]
 *                    [--only noisy] [--no-noisy] [--noisy-edits 60] [--startup-runs 9]
 *                    [--only fanout] [--no-fanout] [--fanout-children 10000] [--fanout-latency-ms 5] [--fanout-runs 3] [--coalesce-children 500]
 *
 * Then fan-out (bench/fanout.ts): (a) propagation under injected DynamoDB latency next to a
 * sequential and a 50-way UpdateItem loop; (b) 20 quick edits of a 500-child parent (coalescing).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// Before any module that builds an SDK client is loaded: every import below is dynamic.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
process.env['POWERTOOLS_LOG_LEVEL'] ??= 'ERROR';
// The handlers' EMF metric lines would bury the report on stdout.
process.env['POWERTOOLS_METRICS_DISABLED'] ??= 'true';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TABLE_NAME = 'cardflow-bench';

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    only: { type: 'string' },
    'no-bundles': { type: 'boolean', default: false },
    'max-children': { type: 'string', default: '10000' },
    'no-propagation': { type: 'boolean', default: false },
    'skip-graph-check': { type: 'boolean', default: false },
    'cascade-children': { type: 'string', default: '500' },
    'cascade-runs': { type: 'string', default: '3' },
    'no-cascade': { type: 'boolean', default: false },
    'no-activity': { type: 'boolean', default: false },
    'query-cards': { type: 'string', default: '10000' },
    'no-noisy': { type: 'boolean', default: false },
    'noisy-edits': { type: 'string', default: '60' },
    'startup-runs': { type: 'string', default: '9' },
    'fanout-children': { type: 'string', default: '10000' },
    'fanout-latency-ms': { type: 'string', default: '5' },
    'fanout-runs': { type: 'string', default: '3' },
    'coalesce-children': { type: 'string', default: '500' },
    'no-fanout': { type: 'boolean', default: false },
  },
});
const ITERATIONS = Number(args.iterations);
const WARMUP = Number(args.warmup);
const MAX_CHILDREN = Number(args['max-children']);
if (!Number.isInteger(MAX_CHILDREN) || MAX_CHILDREN < 1) throw new Error(`--max-children takes a positive integer, not ${args['max-children']}`);
/** `--only propagation` (or a prefix of it, from "prop"): propagation alone, no request rows or bundles. */
const ONLY_PROPAGATION = !!args.only && args.only.length >= 4 && 'propagation'.startsWith(args.only.toLowerCase());
/** `--only cascade` (or a prefix of it, from "casc"): the cascade-delete rows alone. */
const ONLY_CASCADE = !!args.only && args.only.length >= 4 && 'cascade'.startsWith(args.only.toLowerCase());
const RUN_PROPAGATION = !args['no-propagation'] && (!args.only || ONLY_PROPAGATION);
const RUN_CASCADE = !args['no-cascade'] && (!args.only || ONLY_CASCADE);
/** `--only noisy` (or from "nois"): the noisy-neighbour rows alone. */
const ONLY_NOISY = !!args.only && args.only.length >= 4 && 'noisy'.startsWith(args.only.toLowerCase());
const RUN_NOISY = !args['no-noisy'] && (!args.only || ONLY_NOISY);
/** `--only fanout` (or from "fan"): the fan-out rows alone (bench/fanout.ts). */
const ONLY_FANOUT = !!args.only && args.only.length >= 3 && 'fanout'.startsWith(args.only.toLowerCase());
const RUN_FANOUT = !args['no-fanout'] && (!args.only || ONLY_FANOUT);
/** `--only activity` (or a prefix of it, from "acti"): the activity rows alone. */
const ONLY_ACTIVITY = !!args.only && args.only.length >= 4 && 'activity'.startsWith(args.only.toLowerCase());
const RUN_ACTIVITY = !args['no-activity'] && (!args.only || ONLY_ACTIVITY);

const ABBREVIATIONS: Record<string, string> = {
  Query: 'Q',
  GetItem: 'Get',
  PutItem: 'Put',
  UpdateItem: 'Upd',
  DeleteItem: 'Del',
  TransactWriteItems: 'TxW',
  TransactGetItems: 'TxG',
  BatchWriteItem: 'BW',
  BatchGetItem: 'BG',
  Scan: 'Scan',
};

const READS = new Set(['Query', 'Scan', 'GetItem', 'BatchGetItem', 'TransactGetItems']);

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '–');
const units = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function countBy(commands: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of commands) out[c] = (out[c] ?? 0) + 1;
  return out;
}

/** "4 (2 Get, 1 Q, 1 TxW of 6)": requests by kind, with the items of the transactions when known. */
function formatRequests(counts: Record<string, number>, txItems?: number): string {
  const total = sum(Object.values(counts));
  const parts = Object.entries(counts).map(
    ([c, n]) => `${n} ${ABBREVIATIONS[c] ?? c}${c === 'TransactWriteItems' && txItems !== undefined ? ` of ${txItems}` : ''}`,
  );
  return `${total} (${parts.join(', ')})`;
}

function sameCounts(a: Record<string, number>, b: Record<string, number>) {
  return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}

async function main() {
  const startedAt = Date.now();
  const capacity = await import('./capacity');
  capacity.selfCheck();

  const { DynamoDBClient, GetItemCommand, QueryCommand } = await import('@aws-sdk/client-dynamodb');
  const { TABLE_DEFINITION } = await import('../domain/kernel/table');
  const { routes } = await import('../functions/api/routes');
  const { Meter } = await import('./meter');
  const { scenarios: requestScenarios } = await import('./scenarios');
  const { queryScenarios } = await import('./query');
  const QUERY_CARDS = Number(args['query-cards']);
  if (!Number.isInteger(QUERY_CARDS) || QUERY_CARDS < 50) throw new Error(`--query-cards takes an integer of at least 50, not ${args['query-cards']}`);
  const scenarios = [...requestScenarios, ...queryScenarios(QUERY_CARDS)];
  type Api = import('./scenarios').Api;
  type RouteId = import('../functions/api/routes').RouteId;

  // --- the local runtime (DynamoDB Local + table + gateway), configured like a deployment
  const keyDir = await mkdtemp(join(tmpdir(), 'cardflow-bench-'));
  let transport: 'gateway' | 'direct' = 'gateway';
  let streamsStopped = false;
  let stopRuntime: () => Promise<void>;
  let dynamoEndpoint: string;
  let apiFor: (orgId: string) => Promise<Api>;
  let deliveryQueue: import('../infra/local/local-queue').LocalQueue | undefined;

  const expectStatus = (routeId: RouteId, status: number, body: unknown) => {
    const expected = routes[routeId].success.status;
    // A second success the manifest declares (202 and a job for a large cascade delete).
    const accepted = (routes[routeId] as import('../functions/api/routes').RouteSpec).accepted?.status;
    if (status !== expected && status !== accepted) throw new Error(`${routeId} answered ${status}, expected ${expected}: ${JSON.stringify(body)}`);
  };

  try {
    const { startLocalRuntime } = await import('../infra/local/runtime');
    const runtime = await startLocalRuntime({ port: 0, seed: false, quiet: true, tableName: TABLE_NAME, keyFile: join(keyDir, 'key.json') });
    stopRuntime = runtime.stop;
    dynamoEndpoint = runtime.dynamoEndpoint;
    deliveryQueue = runtime.deliveryQueue;
    // The stream processor runs in this process on the handlers' own client: its asynchronous
    // work (propagation, edge-summary refresh after updates and moves) would be counted in
    // whichever request is being measured. The rows are the synchronous cost of each request.
    if (runtime.poller) {
      await runtime.poller.stop();
      streamsStopped = true;
    }
    apiFor = async (orgId) => {
      const token = await runtime.issuer.mintToken({ orgId, role: 'admin' });
      return async (routeId, options = {}) => {
        const route = routes[routeId];
        const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(options.params?.[name] ?? ''));
        const query = options.query && Object.keys(options.query).length ? `?${new URLSearchParams(options.query)}` : '';
        const response = await fetch(`${runtime.url}${path}${query}`, {
          method: route.method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...options.headers,
          },
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        });
        const text = await response.text();
        const body = text && /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : text || undefined;
        expectStatus(routeId, response.status, body);
        return { status: response.status, headers: Object.fromEntries(response.headers), body };
      };
    };
  } catch (error) {
    // Fallback: the runtime could not be loaded; invoke the handlers directly with v2 events.
    console.error(`local runtime unavailable (${(error as Error).message}); measuring by direct handler invocation`);
    transport = 'direct';
    const local = await import('../infra/local/dynamodb-local');
    const dynamo = await local.startDynamoDbLocal();
    await local.ensureTable(dynamo.endpoint, TABLE_NAME);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: local.LOCAL_REGION,
      AWS_ACCESS_KEY_ID: local.LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: local.LOCAL_CREDENTIALS.secretAccessKey,
      TABLE_NAME,
      CURSOR_SIGNING_KEY: randomBytes(32).toString('base64'),
    });
    stopRuntime = dynamo.stop;
    dynamoEndpoint = dynamo.endpoint;
    // Unchecked: the contract check is the tests' job and would add its time to every sample.
    const { callUnchecked: call } = await import('../test/support/api');
    apiFor =
      async (orgId) =>
      async (routeId, options = {}) => {
        const result = await call(routeId, options, { orgId, role: 'admin' });
        expectStatus(routeId, result.status, result.body);
        return result;
      };
  }

  // --- the counting middleware on the very client the handlers use (same module instance)
  const { LOCAL_CREDENTIALS, LOCAL_REGION } = await import('../infra/local/dynamodb-local');
  const raw = new DynamoDBClient({ endpoint: dynamoEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const indexes = TABLE_DEFINITION.globalSecondaryIndexes.map((g) => ({ indexName: g.indexName, partitionKey: g.partitionKey, sortKey: g.sortKey }));
  const meter = new Meter(raw, TABLE_NAME, { partitionKey: TABLE_DEFINITION.partitionKey, sortKey: TABLE_DEFINITION.sortKey }, indexes);
  const { dynamoClient } = await import('../domain/kernel/client');
  dynamoClient.middlewareStack.add(meter.middleware as never, { step: 'build', priority: 'high', name: 'benchCounter' });

  // The handlers' own store (same module instance as the runtime's): its cache of container definitions.
  const forgetDefinitions = async () => (await import('../functions/shared/store')).store.containers.forgetDefinitions();
  const size: import('./scenarios').Sizer = {
    async item(key) {
      const out = await raw.send(new GetItemCommand({ TableName: TABLE_NAME, Key: { PK: { S: key.PK }, SK: { S: key.SK } }, ConsistentRead: true }));
      return capacity.itemSize(out.Item as never);
    },
    async partition(pk) {
      const perItem: number[] = [];
      let start: Record<string, any> | undefined;
      do {
        const out = await raw.send(
          new QueryCommand({
            TableName: TABLE_NAME,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': { S: pk } },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) perItem.push(capacity.itemSize(item as never));
        start = out.LastEvaluatedKey;
      } while (start);
      return { bytes: sum(perItem), items: perItem.length, perItem };
    },
    async index(indexName, pk, limit, prefix) {
      const gsi = indexes.find((g) => g.indexName === indexName)!;
      const out = await raw.send(
        new QueryCommand({
          TableName: TABLE_NAME,
          IndexName: indexName,
          KeyConditionExpression: prefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
          ExpressionAttributeNames: { '#pk': gsi.partitionKey, ...(prefix ? { '#sk': gsi.sortKey! } : {}) },
          ExpressionAttributeValues: { ':pk': { S: pk }, ...(prefix ? { ':prefix': { S: prefix } } : {}) },
          ...(limit ? { Limit: limit } : {}),
        }),
      );
      const items = out.Items ?? [];
      return { bytes: sum(items.map((i) => capacity.itemSize(i as never))), items: items.length };
    },
  };

  // --- scenarios
  // --only takes one name fragment, or several separated by '|' (rows to compare in one run).
  const fragments = (args.only ?? '')
    .toLowerCase()
    .split('|')
    .filter((x) => x.length > 0);
  const selected =
    ONLY_PROPAGATION || ONLY_CASCADE || ONLY_NOISY || ONLY_FANOUT || ONLY_ACTIVITY
      ? []
      : scenarios.filter((s) => !fragments.length || fragments.some((x) => s.name.toLowerCase().includes(x)));
  const rows: any[] = [];
  const runId = randomUUID().slice(0, 8);
  // Scenarios with a `shared` key use the organization and setup of the first of them.
  const sharedSetups = new Map<string, { orgId: string; state: Promise<unknown> }>();
  let propagation: import('./propagation').PropagationResult | undefined;
  let propagationError: string | undefined;
  let cascade: import('./cascade').CascadeBenchResult | undefined;
  let cascadeError: string | undefined;
  let noisy: import('./noisy').NoisyResult | undefined;
  let noisyError: string | undefined;
  // Deployed bundles: sizes, import + first call vs a bare lib-dynamodb handler (bench/bundles-startup.ts).
  let startup: import('./bundles-startup').BundleStartupResult | undefined;
  let fanout: import('./fanout').FanoutBenchResult | undefined;
  let fanoutError: string | undefined;
  let activity: import('./activity').ActivityBenchResult | undefined;
  let activityError: string | undefined;
  try {
    for (const [index, s] of selected.entries()) {
      try {
        rows.push(await measure(s, index));
      } catch (error) {
        const message = (error as Error).message.split('\n')[0]!.slice(0, 300);
        rows.push({ name: s.name, route: s.route, error: message });
        process.stderr.write(`${s.name}: FAILED ${message}\n`);
      }
    }
    if (RUN_PROPAGATION) {
      // After the request rows: it runs a stream poller of its own on the handlers' client.
      try {
        const { runPropagation, DEFAULT_LEVELS } = await import('./propagation');
        const orgId = `bench-${runId}-prop`;
        propagation = await runPropagation({
          orgId,
          api: await apiFor(orgId),
          endpoint: dynamoEndpoint,
          tableName: TABLE_NAME,
          levels: [...DEFAULT_LEVELS.filter((n) => n < MAX_CHILDREN), MAX_CHILDREN],
          checkGraph: !args['skip-graph-check'],
          log: (line) => process.stderr.write(`${line}\n`),
        });
      } catch (error) {
        propagationError = (error as Error).message.split('\n')[0]!.slice(0, 300);
        process.stderr.write(`propagation: FAILED ${propagationError}\n`);
      }
    }
    if (RUN_CASCADE) {
      try {
        const { runCascadeBench } = await import('./cascade');
        cascade = await runCascadeBench({
          orgPrefix: `bench-${runId}-cascade`,
          apiFor,
          endpoint: dynamoEndpoint,
          tableName: TABLE_NAME,
          children: Number(args['cascade-children']),
          runs: Number(args['cascade-runs']),
          log: (line) => process.stderr.write(`${line}\n`),
        });
      } catch (error) {
        cascadeError = (error as Error).message.split('\n')[0]!.slice(0, 300);
        process.stderr.write(`cascade: FAILED ${cascadeError}\n`);
      }
    }
    if (RUN_NOISY) {
      try {
        if (!deliveryQueue) throw new Error('needs the local runtime (its delivery queue)');
        const { runNoisy } = await import('./noisy');
        noisy = await runNoisy({
          orgPrefix: `bench-${runId}-noisy`,
          apiFor,
          endpoint: dynamoEndpoint,
          tableName: TABLE_NAME,
          deliveryQueue,
          edits: Number(args['noisy-edits']),
          children: 10,
          slowReceiverMs: 10_000,
          noisyCards: 20,
          log: (line) => process.stderr.write(`${line}\n`),
        });
      } catch (error) {
        noisyError = (error as Error).message.split('\n')[0]!.slice(0, 300);
        process.stderr.write(`noisy: FAILED ${noisyError}\n`);
      }
    }
    if (!args['no-bundles'] && !ONLY_PROPAGATION && !ONLY_CASCADE && !ONLY_NOISY && !ONLY_FANOUT && !ONLY_ACTIVITY) {
      // While DynamoDB Local still runs: each first call makes one real request.
      try {
        const { bundleStartup } = await import('./bundles-startup');
        process.stderr.write('bundle start-up: building and probing the deployed bundles\n');
        startup = await bundleStartup(ROOT, Number(args['startup-runs']), { dynamoEndpoint, tableName: TABLE_NAME });
      } catch (error) {
        process.stderr.write(`bundle start-up: FAILED ${(error as Error).message.split('\n')[0]}\n`);
      }
    }
    if (RUN_ACTIVITY) {
      try {
        const { runActivityBench } = await import('./activity');
        const orgId = `bench-${runId}-activity`;
        activity = await runActivityBench({
          orgId,
          api: await apiFor(orgId),
          endpoint: dynamoEndpoint,
          tableName: TABLE_NAME,
          log: (line) => process.stderr.write(`${line}\n`),
        });
      } catch (error) {
        activityError = (error as Error).message.split('\n')[0]!.slice(0, 300);
        process.stderr.write(`activity: FAILED ${activityError}\n`);
      }
    }
    if (RUN_FANOUT) {
      try {
        const { runFanoutBench } = await import('./fanout');
        fanout = await runFanoutBench({
          orgPrefix: `bench-${runId}-fanout`,
          apiFor,
          endpoint: dynamoEndpoint,
          tableName: TABLE_NAME,
          children: Number(args['fanout-children']),
          latencyMs: Number(args['fanout-latency-ms']),
          runs: Number(args['fanout-runs']),
          coalesceChildren: Number(args['coalesce-children']),
          log: (line) => process.stderr.write(`${line}\n`),
        });
      } catch (error) {
        fanoutError = (error as Error).message.split('\n')[0]!.slice(0, 300);
        process.stderr.write(`fanout: FAILED ${fanoutError}\n`);
      }
    }
  } finally {
    raw.destroy();
    await stopRuntime();
    await rm(keyDir, { recursive: true, force: true });
  }

  async function measure(s: (typeof scenarios)[number], index: number) {
    // Same length for every scenario: the org id is in every key, so it weighs on every size.
    const shared = s.shared ? sharedSetups.get(s.shared) : undefined;
    const orgId = shared?.orgId ?? `bench-${runId}-${String(index).padStart(2, '0')}`;
    const ctx = { orgId, api: await apiFor(orgId), size, forgetDefinitions };
    let setup = shared?.state;
    if (!setup) {
      setup = s.setup(ctx);
      if (s.shared) sharedSetups.set(s.shared, { orgId, state: setup });
    }
    const state = await setup;
    let n = 0;
    for (let w = 0; w < WARMUP; w++, n++) {
      const input = s.prepare ? await s.prepare(ctx, state, n) : undefined;
      await s.run(ctx, state, input, n);
    }

    // Metered iteration: sizes every request (extra uncounted reads: not timed).
    const meteredInput = s.prepare ? await s.prepare(ctx, state, n) : undefined;
    meter.start(true);
    let metered;
    let result;
    try {
      result = await s.run(ctx, state, meteredInput, n);
    } finally {
      metered = meter.stop();
    }
    n++;
    const minimum = await s.minimum(ctx, { state, input: meteredInput, result });
    const charges = metered.map((c) => c.charge!);
    const rcu = sum(charges.map((c) => c.rcu));
    const wcu = sum(charges.map((c) => c.wcu));

    // Timed iterations: count and time only.
    const gatewayMs: number[] = [];
    const dynamoMs: number[] = [];
    const requestCounts: Array<Record<string, number>> = [];
    for (let i = 0; i < ITERATIONS; i++, n++) {
      const input = s.prepare ? await s.prepare(ctx, state, n) : undefined;
      meter.start(false);
      const t0 = process.hrtime.bigint();
      let calls;
      try {
        await s.run(ctx, state, input, n);
      } finally {
        const t1 = process.hrtime.bigint();
        calls = meter.stop();
        gatewayMs.push(Number(t1 - t0) / 1e6);
      }
      dynamoMs.push(sum(calls.map((c) => c.ms)));
      requestCounts.push(countBy(calls.map((c) => c.command)));
    }

    const measured = countBy(metered.map((c) => c.command));
    const transactions = metered.filter((c) => c.command === 'TransactWriteItems');
    const txItems = transactions.length ? sum(transactions.map((c) => c.charge!.writes.length)) : undefined;
    const stable = requestCounts.every((c) => sameCounts(c, measured));
    // A GetItem may stand in for a Query (and an UpdateItem for a TransactWriteItems): requests
    // are compared by class, reads and writes; capacity shows what the choice of kind costs.
    const byClass = (counts: Record<string, number>, cls: 'read' | 'write') =>
      sum(
        Object.entries(counts)
          .filter(([c]) => READS.has(c) === (cls === 'read'))
          .map(([, k]) => k),
      );
    const over: string[] = [];
    if (byClass(measured, 'read') > byClass(minimum.requests, 'read') || byClass(measured, 'write') > byClass(minimum.requests, 'write')) {
      over.push('requests');
    }
    if (minimum.txItems !== undefined && (txItems ?? 0) > minimum.txItems) over.push('tx items');
    if (rcu > minimum.rcu + 1e-9) over.push('RCU');
    if (wcu > minimum.wcu + 1e-9) over.push('WCU');
    const row = {
      name: s.name,
      route: s.route,
      transport,
      requests: measured,
      txItems,
      requestsStable: stable,
      minimum,
      rcu,
      wcu,
      over,
      latency: {
        iterations: ITERATIONS,
        gatewayP50: median(gatewayMs),
        gatewayP95: quantile(gatewayMs, 0.95),
        dynamoP50: median(dynamoMs),
        dynamoP95: quantile(dynamoMs, 0.95),
        ratio: median(gatewayMs) / median(dynamoMs),
        gatewayMs,
        dynamoMs,
      },
      calls: metered.map((c) => ({ command: c.command, detail: c.detail, charge: c.charge })),
    };
    process.stderr.write(`${s.name}: ${formatRequests(measured, txItems)}, ${units(rcu)} RCU, ${units(wcu)} WCU, p50 ${ms(row.latency.gatewayP50)} ms\n`);
    return row;
  }

  // --- bundles
  let bundles: Awaited<ReturnType<typeof import('./bundles').bundleSizes>> | undefined;
  if (!args['no-bundles'] && !ONLY_PROPAGATION && !ONLY_CASCADE && !ONLY_NOISY && !ONLY_FANOUT) {
    const modules = new Map<string, string[]>();
    for (const [id, route] of Object.entries(routes)) {
      const list = modules.get(route.handler.module) ?? [];
      list.push(id);
      modules.set(route.handler.module, list);
    }
    const { bundleSizes } = await import('./bundles');
    // Stream handlers: the modules of functions/streams/ that export a Lambda handler.
    const { readdir, readFile } = await import('node:fs/promises');
    const streamDir = join(ROOT, 'functions/streams');
    const streamHandlers: string[] = [];
    for (const file of (await readdir(streamDir).catch(() => [] as string[])).filter((f) => f.endsWith('.ts')).sort()) {
      if (/export (const|async function|function) handler\b/.test(await readFile(join(streamDir, file), 'utf8')))
        streamHandlers.push(`functions/streams/${file}`);
    }
    bundles = await bundleSizes(ROOT, modules, streamHandlers);
  }

  // --- report
  const out: string[] = [];
  const via =
    transport === 'gateway'
      ? 'HTTP through the local gateway (JWT verified, v2 event, handler)'
      : 'direct handler invocation (the local gateway could not be loaded)';
  out.push(`## cardflow bench — ${new Date().toISOString()}`);
  if (!ONLY_PROPAGATION && !ONLY_NOISY && !ONLY_FANOUT) {
    out.push('');
    out.push(
      `${ITERATIONS} timed iterations after ${WARMUP} warm-ups per operation, one extra metered iteration for capacity; latency over ${via}; DynamoDB = sum of the SDK calls of that request, timed inside the same requests. Node ${process.version}, DynamoDB Local in memory${streamsStopped ? '; the local stream processor is stopped, so asynchronous stream work (propagation) is in no row' : ''}.`,
    );
    out.push('');
    out.push('| operation | DynamoDB requests | min | RCU | min | WCU | min | gateway p50 ms | p95 | DynamoDB p50 ms | gateway ÷ DynamoDB | over minimum |');
    out.push('|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|');
    for (const r of rows) {
      if (r.error) {
        out.push(`| ${r.name} | **failed**: ${r.error.replaceAll('|', '\\|')} |||||||||||`);
        continue;
      }
      out.push(
        `| ${r.name} | ${formatRequests(r.requests, r.txItems)}${r.requestsStable ? '' : ' (varies)'} | ${formatRequests(r.minimum.requests, r.minimum.txItems)} | ${units(r.rcu)} | ${units(r.minimum.rcu)} | ${units(r.wcu)} | ${units(r.minimum.wcu)} | ${ms(r.latency.gatewayP50)} | ${ms(r.latency.gatewayP95)} | ${ms(r.latency.dynamoP50)} | ${r.latency.ratio.toFixed(1)}× | ${r.over.length ? `**${r.over.join(', ')}**` : ''} |`,
      );
    }
    out.push('');
    out.push(
      `Requests: ${Object.entries(ABBREVIATIONS)
        .map(([k, v]) => `${v} = ${k}`)
        .join(
          ', ',
        )}; "TxW of n": n items in the transaction(s). Capacity from item images by DynamoDB's sizing rules (bench/capacity.ts): GSI queries eventually consistent (½), transactions ×2 on the items they touch, ConditionCheck billed as a transactional ${capacity.CONDITION_CHECK}, GSI entries (ALL projection) one write per index touched, two when the index key changes.`,
    );
    out.push('');
    out.push('### What the minimum assumes');
    out.push('');
    out.push('| operation | minimum | why |');
    out.push('|---|---|---|');
    for (const r of rows.filter((x) => !x.error))
      out.push(
        `| ${r.name} | ${formatRequests(r.minimum.requests, r.minimum.txItems)}, ${units(r.minimum.rcu)} RCU, ${units(r.minimum.wcu)} WCU | ${r.minimum.note} |`,
      );

    const flagged = rows.filter((r) => r.over?.length);
    if (flagged.length) {
      out.push('');
      out.push('### Above the minimum: where it goes');
      out.push('');
      for (const r of flagged) {
        out.push(`- **${r.name}** (${r.over.join(', ')}):`);
        for (const c of r.calls) {
          const writes = (c.charge?.writes ?? [])
            .map(
              (w: any) =>
                `${w.action}${w.transactional ? ' (tx)' : ''} ${w.tableWcu} WCU${w.tableRcu ? ` ${w.tableRcu} RCU` : ''}${w.index.length ? ` + ${w.index.map((i: any) => `${i.indexName} ${i.kind} ${i.wcu}`).join(', ')}` : ''}`,
            )
            .join('; ');
          const reads = (c.charge?.reads ?? []).map((x: any) => `${x.items} items ${x.bytes} B → ${x.rcu} RCU`).join('; ');
          out.push(`  - ${c.command}${c.detail ? ` [${c.detail}]` : ''}: ${[reads, writes].filter(Boolean).join('; ')}`);
        }
      }
    }
  }

  if (propagation || propagationError) {
    out.push('');
    if (propagation) {
      const { propagationMarkdown } = await import('./propagation');
      out.push(...propagationMarkdown(propagation, ABBREVIATIONS));
    } else {
      out.push('### Propagation: parent update → every child');
      out.push('');
      out.push(`**failed**: ${propagationError}`);
    }
  }

  if (cascade || cascadeError) {
    out.push('');
    if (cascade) {
      const { cascadeMarkdown } = await import('./cascade');
      out.push(...cascadeMarkdown(cascade, ABBREVIATIONS));
    } else out.push('### Cascade delete', '', `**failed**: ${cascadeError}`);
  }
  if (activity || activityError) {
    out.push('');
    if (activity) {
      const { activityMarkdown } = await import('./activity');
      out.push(...activityMarkdown(activity));
    } else out.push('### Activity', '', `**failed**: ${activityError}`);
  }

  if (noisy || noisyError) {
    out.push('');
    if (noisy) {
      const { noisyMarkdown } = await import('./noisy');
      out.push(...noisyMarkdown(noisy));
    } else out.push('### Noisy neighbour', '', `**failed**: ${noisyError}`);
  }

  if (fanout || fanoutError) {
    out.push('');
    if (fanout) {
      const { fanoutMarkdown } = await import('./fanout');
      out.push(...fanoutMarkdown(fanout));
    } else out.push('### Fan-out', '', `**failed**: ${fanoutError}`);
  }

  if (bundles) {
    out.push('');
    out.push('### Bundles per handler module (infra/bundling/options.ts: ESM, node24, minified, AWS SDK from the runtime, zod without locales)');
    out.push('');
    out.push('| bundle | routes | bytes | gzip | × baseline | largest parts |');
    out.push('|---|--:|--:|--:|--:|---|');
    const b = bundles.baseline;
    const kb = (x: number) => `${(x / 1024).toFixed(1)} KiB`;
    const partList = (p: typeof b.parts) =>
      p
        .slice(0, 4)
        .map((x) => `${x.name} ${kb(x.bytes)}`)
        .join(', ');
    out.push(`| ${b.name} | – | ${b.bytes.toLocaleString('en')} | ${b.gzipBytes.toLocaleString('en')} | 1.00 | ${partList(b.parts)} |`);
    for (const h of bundles.handlers) {
      if (h.error) {
        out.push(`| ${h.name} | ${h.routes.length || 'stream'} | **failed**: ${h.error.replaceAll('|', '\\|')} ||||`);
        continue;
      }
      out.push(
        `| ${h.name} | ${h.routes.length || 'stream'} | ${h.bytes.toLocaleString('en')} | ${h.gzipBytes.toLocaleString('en')} | ${(h.bytes / b.bytes).toFixed(2)} | ${partList(h.parts)} |`,
      );
    }
  }
  if (startup) {
    const { bundleStartupMarkdown } = await import('./bundles-startup');
    out.push('');
    out.push(...bundleStartupMarkdown(startup));
  }
  out.push('');
  out.push(`_Total bench time ${((Date.now() - startedAt) / 1000).toFixed(0)} s._`);

  const markdown = out.join('\n');
  console.log(markdown);
  await writeFile(
    join(ROOT, 'bench/last-run.json'),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, transport, iterations: ITERATIONS, warmup: WARMUP, conditionCheckBilledAs: capacity.CONDITION_CHECK, operations: rows, bundles, propagation: propagation ?? (propagationError ? { error: propagationError } : undefined), cascade: cascade ?? (cascadeError ? { error: cascadeError } : undefined), noisy: noisy ?? (noisyError ? { error: noisyError } : undefined), startup, fanout: fanout ?? (fanoutError ? { error: fanoutError } : undefined), activity: activity ?? (activityError ? { error: activityError } : undefined) }, null, 2)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
