/**
 * Fan-out in `npm run bench` (issue 8, bench a and b), with a stream poller of its own.
 *
 * (a) Latency injection: an SDK middleware on the handlers' own DynamoDB client waits a fixed
 *     `latencyMs` (5 ms by default) before every call, as a stand-in for AWS round trips (DynamoDB
 *     Local answers in well under a millisecond, so without it request counts and CPU dominate,
 *     not the network the design is about). A parent card with N children (10,000 by default,
 *     `--fanout-children`) through a connection that syncs the parent's Tier (**value**) and Name
 *     (the child's title field: **title**, which also changes each child's summary on the parent
 *     side). Per run and variant, in the same run and through the same delayed client:
 *       - propagation: the parent updated through the API; time from the request until the stream
 *         processor's fan-out marked the parent version done (FanOutMark, polled every 5 ms with a
 *         separate client without delay), then checked: every child holds the value;
 *       - a sequential UpdateItem loop writing the same attributes to the same N children;
 *       - a 50-way parallel UpdateItem loop doing the same.
 *     The loops write the attributes the fan-out writes, and their children's stream records are
 *     processed as the fan-out's children's are (on this machine both compete for the same cores);
 *     a third loop, 50-way with its records acknowledged unprocessed, shows the loop alone.
 *     Each variant first runs once unmeasured (DynamoDB Local's JIT warm-up), and each run logs
 *     the CPU this process and DynamoDB Local's JVM spent in the propagation and in the loop, and
 *     the stream reads; FANOUT_CPU_PROFILE=<file> writes a V8 CPU profile of the first value run.
 * (b) Coalescing: a parent with 500 children (`--coalesce-children`) gets 20 edits of its synced
 *     Name, 300 ms apart, through the API; then the stream drains. Counted: UpdateItem requests on
 *     each child item (an SDK middleware, refused conditional writes included, as they cost a write
 *     too) and the versions the children gained; checked: every child ends at the last value. In
 *     the same run, the same 20 edits on a second parent with the hot-parent window off
 *     (hotMs 0: only a fan-out in flight is taken over), to show what the quiet window buys. The
 *     waits for quiet go through the runtime's fan-out wake-up queue and its consumer (a LocalQueue
 *     with DelaySeconds), as in AWS: no stream batch sleeps.
 *
 * Children beyond the first are written directly (bench/propagation.ts createDirect: the very
 * items the API's builders make, checked attribute by attribute against an API-made child).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { normalizeTitle } from '../domain/fields/field-types';
import { FAN_OUT_TUNING, type FanOutTuning } from '../domain/propagation/stream';
import { CHANGED_BY, PROPAGATION, syncVersionAttribute } from '../domain/propagation/propagation';
import { documentClient, dynamoClient } from '../domain/kernel/client';
import { itemPk } from '../domain/connections/store';
import type { Item } from '../domain/kernel/dynamo';
import { checkGraph } from '../domain/connections/invariants';
import { EDGE_PREFIX, gsi2, keys, orgPrefix } from '../domain/kernel/keys';
import { createStreamHandler } from '../functions/streams/processor';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../infra/local/dynamodb-local';
import { StreamPoller } from '../infra/local/stream-poller';
import { createDirect, createSyncedPipes } from './propagation';
import type { Api } from './scenarios';

export interface FanoutBenchOptions {
  orgPrefix: string;
  apiFor: (orgId: string) => Promise<Api>;
  endpoint: string;
  tableName: string;
  /** (a): children of the parent, delay per DynamoDB call, runs per variant. */
  children: number;
  latencyMs: number;
  runs: number;
  /** (b): children of the edited parent, edits, gap between them. */
  coalesceChildren: number;
  edits?: number;
  editGapMs?: number;
  log?: (line: string) => void;
}

export interface LatencyRun {
  /** The PATCH, to its response; then until the parent's record reached the handler. */
  patchMs: number;
  toStreamMs: number;
  propagationMs: number;
  settledMs: number;
  sequentialMs: number;
  parallelMs: number;
  /** The 50-way loop again, its children's stream records acknowledged unprocessed (the loop alone). */
  parallelUnprocessedMs: number;
  /** From the 50-way loop's start until the stream went quiet (its children's records processed), as `settledMs` is for propagation. */
  parallelSettledMs: number;
  requestsPerChild: number;
  /** Requests per child by operation (stream and API), e.g. UpdateItem 1.00. */
  byCommand: Record<string, number>;
  /** CPU spent (ms) during the propagation and during the 50-way loop: this process, and DynamoDB Local's JVM (when found). */
  cpu: { propagation: CpuSpent; parallel: CpuSpent };
}

export interface CpuSpent {
  nodeMs: number;
  jvmMs?: number;
}

/** The DynamoDB Local JVM serving `endpoint` (its -port), to read its CPU time from /proc; undefined elsewhere. */
function jvmPid(endpoint: string): number | undefined {
  const port = new URL(endpoint).port;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        if (args.some((a) => a.includes('DynamoDBLocal')) && args[args.indexOf('-port') + 1] === port) return Number(entry);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

/** utime + stime of a process, in ms (clock ticks of 10 ms on Linux). */
function procCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Starts counting CPU; the returned function gives what was spent since. */
function cpuMeter(pid: number | undefined): () => CpuSpent {
  const node = process.cpuUsage();
  const jvm = procCpuMs(pid);
  return () => {
    const used = process.cpuUsage(node);
    const jvmNow = procCpuMs(pid);
    return { nodeMs: (used.user + used.system) / 1000, ...(jvm !== undefined && jvmNow !== undefined ? { jvmMs: jvmNow - jvm } : {}) };
  };
}

/**
 * FANOUT_CPU_PROFILE=<file>: a V8 CPU profile of this process over the first value propagation
 * (from the PATCH until the fan-out is marked done), for `node` tooling or Chrome's DevTools.
 */
async function profiled<T>(enabled: boolean, task: () => Promise<T>): Promise<T> {
  const file = process.env['FANOUT_CPU_PROFILE'];
  if (!enabled || !file) return task();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await task();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

export interface LatencyRow {
  variant: 'value' | 'title';
  runs: LatencyRun[];
  median: {
    patchMs: number;
    toStreamMs: number;
    propagationMs: number;
    settledMs: number;
    sequentialMs: number;
    parallelMs: number;
    parallelUnprocessedMs: number;
    parallelSettledMs: number;
    vsSequential: number;
    vsParallel: number;
    vsParallelUnprocessed: number;
    settledVsParallelSettled: number;
    requestsPerChild: number;
  };
}

export interface CoalesceRow {
  mode: string;
  children: number;
  edits: number;
  writesPerChild: { median: number; max: number; min: number };
  versionsPerChild: { median: number; max: number };
  /** From the last edit's response until the children held the last value (fan-out marked done). */
  convergeMs: number;
  allAtLastValue: boolean;
  /** Stream handler invocations holding one of the edited parent's records: the longest (ms), and their sum. */
  parentBatchMs: { max: number; total: number };
}

export interface FanoutBenchResult {
  latencyMs: number;
  children: number;
  parallelism: number;
  tuning: FanOutTuning;
  latency: LatencyRow[];
  coalesce: CoalesceRow[];
  setupSeconds: number;
  deadLetters: number;
  graphViolations: string[];
  errors: string[];
}

const PARALLEL = 50;
const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)]! + s[Math.ceil(mid)]!) / 2;
};

// --- SDK middlewares on the handlers' client: a fixed delay per call, and counters.
const injected = { delayMs: 0 };
let counting: { total: number; byKey: Map<string, number>; byCommand?: Map<string, number> } | undefined;
let installed = false;
function install() {
  if (installed) return;
  installed = true;
  const middleware = (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
    if (injected.delayMs > 0) await sleep(injected.delayMs);
    const counter = counting;
    if (counter) {
      counter.total++;
      const command = String(context.commandName ?? '?').replace(/Command$/, '');
      counter.byCommand?.set(command, (counter.byCommand.get(command) ?? 0) + 1);
      if (context.commandName === 'UpdateItemCommand') {
        const key = args.input?.Key;
        const id = `${key?.PK?.S ?? key?.PK}|${key?.SK?.S ?? key?.SK}`;
        counter.byKey.set(id, (counter.byKey.get(id) ?? 0) + 1);
      }
    }
    return next(args);
  };
  dynamoClient.middlewareStack.add(middleware as never, { step: 'build', priority: 'high', name: 'benchFanoutLatency' });
}

async function mapLimit<T>(items: T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

const PIPE = (name: string) => ({
  name,
  startFormFields: [
    { label: 'Name', type: 'short_text', isTitle: true },
    { label: 'Tier', type: 'short_text' },
  ],
});

export async function runFanoutBench(options: FanoutBenchOptions): Promise<FanoutBenchResult> {
  const log = options.log ?? (() => undefined);
  const { tableName, endpoint } = options;
  install();
  const raw = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const rawDoc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const result: FanoutBenchResult = {
    latencyMs: options.latencyMs,
    children: options.children,
    parallelism: PARALLEL,
    tuning: { ...FAN_OUT_TUNING },
    latency: [],
    coalesce: [],
    setupSeconds: 0,
    deadLetters: 0,
    graphViolations: [],
    errors: [],
  };

  const orgs = [`${options.orgPrefix}-a`, `${options.orgPrefix}-b`];
  // The stream: the processor as deployed (default tuning), and one without the hot-parent window
  // for the (b) comparison; given only the bench organizations' records, and none while the
  // "records unprocessed" loop runs (acknowledged unprocessed).
  const prod = createStreamHandler();
  const noQuiet = createStreamHandler({ tuning: { hotMs: 0 } });
  let useNoQuiet = false;
  let skipping = false;
  /** The parent record awaited (PK and version), and when a batch holding it reached the handler. */
  let watch: { pk: string; version: number; seenAt?: number } | undefined;
  /** (b): how long invocations holding the edited parent's records took (a sleep in one shows here). */
  let parentTiming: { pk: string; max: number; total: number } | undefined;
  const prefixes = orgs.map(orgPrefix);
  const handler = async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const mine = event.Records.filter((r) => {
      const pk = (r.dynamodb?.Keys?.['PK'] as { S?: string } | undefined)?.S ?? '';
      return prefixes.some((p) => pk.startsWith(p));
    });
    if (!mine.length || skipping) return { batchItemFailures: [] };
    const w = watch;
    if (w && w.seenAt === undefined) {
      for (const r of mine) {
        const image = r.dynamodb?.NewImage as Record<string, { S?: string; N?: string }> | undefined;
        if (image?.['PK']?.S === w.pk && Number(image?.['version']?.N) >= w.version) w.seenAt = performance.now();
      }
    }
    const timing = parentTiming;
    const holdsParent = timing !== undefined && mine.some((r) => (r.dynamodb?.Keys?.['PK'] as { S?: string } | undefined)?.S === timing.pk);
    const began = performance.now();
    try {
      return await (useNoQuiet ? noQuiet : prod)({ Records: mine }, context);
    } finally {
      if (holdsParent) {
        const ms = performance.now() - began;
        timing.max = Math.max(timing.max, ms);
        timing.total += ms;
      }
    }
  };
  const poller = new StreamPoller({ endpoint, tableName, handler, idleMs: 20, onError: (e) => log(`fanout poller: ${(e as Error).message}`) });
  await poller.start();
  const jvm = jvmPid(endpoint);
  const drain = () => poller.drain(500, 1_800_000);

  try {
    // ------------------------------------------------------------------ (a) latency injection
    const orgA = orgs[0]!;
    const api = await options.apiFor(orgA);
    const setupStarted = Date.now();
    const world = await syncedWorld(api);
    const parent = (await api('createCard', { params: { pipeId: world.parentPipe }, body: { values: { [world.pName]: 'Parent r0', [world.pTier]: 't0' } } }))
      .body;
    await createDirect(
      { api, orgId: orgA, tableName, rawDoc, connectionId: world.connection, parentPipeId: world.parentPipe, childPipeId: world.childPipe },
      parent.id,
      options.children,
    );
    await drain();
    result.setupSeconds = (Date.now() - setupStarted) / 1000;
    const ids = await childIds(orgA, parent.id);
    if (ids.length !== options.children) throw new Error(`parent has ${ids.length} children, expected ${options.children}`);
    log(
      `fanout: ${ids.length.toLocaleString('en')} children ready in ${result.setupSeconds.toFixed(0)} s; ${options.latencyMs} ms per DynamoDB call from here`,
    );

    let version = parent.version as number;
    for (const variant of ['value', 'title'] as const) {
      const runs: LatencyRun[] = [];
      // Run 0 warms up, unmeasured: DynamoDB Local's JIT compiles the code paths a variant uses
      // the first time they get hot (its C2 compiler threads took more CPU than its SQLite queue
      // in a profile), and whichever of propagation and the loops ran first paid for it.
      for (let r = 0; r <= options.runs; r++) {
        const warmup = r === 0;
        try {
          const parentField = variant === 'value' ? world.pTier : world.pName;
          const childField = variant === 'value' ? world.cTier : world.cName;
          const value = `${variant} ${r} ${Date.now()}`;
          // A parent that fanned out moments ago waits to be quiet (coalescing): not what is measured here.
          await sleep(FAN_OUT_TUNING.hotMs + 200);
          injected.delayMs = options.latencyMs;
          counting = { total: 0, byKey: new Map(), byCommand: new Map() };
          watch = { pk: keys.card(orgA, parent.id).PK, version: version + 1 };
          const spentInPropagation = cpuMeter(jvm);
          const readsBefore = poller.reads;
          const readMsBefore = poller.readMs;
          const t0 = performance.now();
          const { patchMs } = await profiled(variant === 'value' && r === 1, async () => {
            const updated = (await api('updateCard', { params: { cardId: parent.id }, body: { values: { [parentField]: value } } })).body;
            const patched = performance.now() - t0;
            version = updated.version;
            await markReached(orgA, parent.id, version);
            return { patchMs: patched };
          });
          const propagationMs = performance.now() - t0;
          const cpuPropagation = spentInPropagation();
          const readsPropagation = poller.reads - readsBefore;
          const readMsPropagation = poller.readMs - readMsBefore;
          const toStreamMs = (watch.seenAt ?? NaN) - t0 - patchMs;
          await drain();
          const settledMs = performance.now() - t0;
          const cpuPropagationSettled = spentInPropagation();
          const requests = counting.total;
          const byCommand = Object.fromEntries(
            [...(counting.byCommand ?? new Map<string, number>())].map(([c, n]) => [c, Number((n / ids.length).toFixed(3))]),
          );
          counting = undefined;
          injected.delayMs = 0;
          const wrong = await childrenNotAt(orgA, ids, childField, value);
          if (wrong) throw new Error(`${wrong} of ${ids.length} children do not hold the ${variant} after propagation`);

          // Baselines: the attributes the fan-out writes (the value, the parent version it follows,
          // the propagation mark, version and updatedAt, and for a title the title and its index
          // key) on the same children, same client, same delay. Their stream records are processed
          // as the fan-out's children's are (both pay for their children's records on this
          // machine's cores, as both would in Lambda); a last 50-way loop whose records are
          // acknowledged unprocessed shows what that costs the loop.
          // The mark names the parent version just propagated (a higher one would make the next
          // run's guarded writes skip these children) and differs from the previous mark, as a
          // fresh propagated write's does (see StreamWork.itemChanged).
          const write = (v: string) => {
            const parentVersion = version;
            const mark = { source: PROPAGATION, connectionId: world.connection, parentId: parent.id, parentVersion, loop: v };
            return async (id: string) => {
              await documentClient.send(
                new UpdateCommand({
                  TableName: tableName,
                  Key: keys.card(orgA, id),
                  UpdateExpression: `SET #values.#f = :v, #sv = :pv, #by = :by, updatedAt = :now, version = version + :one${variant === 'title' ? ', title = :title, GSI2SK = :g2' : ''}`,
                  ExpressionAttributeNames: { '#values': 'values', '#f': childField, '#sv': syncVersionAttribute(world.connection), '#by': CHANGED_BY },
                  ExpressionAttributeValues: {
                    ':v': v,
                    ':pv': parentVersion,
                    ':by': mark,
                    ':now': new Date().toISOString(),
                    ':one': 1,
                    ...(variant === 'title' ? { ':title': v, ':g2': gsi2.titleSortKey(normalizeTitle(v), id) } : {}),
                  },
                }),
              );
            };
          };
          injected.delayMs = options.latencyMs;
          let t = performance.now();
          // The sequential loop's paths are the parallel loop's: not repeated to warm up.
          if (!warmup) for (const id of ids) await write(`${value} seq`)(id);
          const sequentialMs = warmup ? Number.NaN : performance.now() - t;
          injected.delayMs = 0;
          await drain();
          injected.delayMs = options.latencyMs;
          const spentInParallel = cpuMeter(jvm);
          const readsBeforeParallel = poller.reads;
          const readMsBeforeParallel = poller.readMs;
          t = performance.now();
          await mapLimit(ids, PARALLEL, write(`${value} par`));
          const parallelMs = performance.now() - t;
          const cpuParallel = spentInParallel();
          const readsParallel = poller.reads - readsBeforeParallel;
          const readMsParallel = poller.readMs - readMsBeforeParallel;
          injected.delayMs = 0;
          await drain();
          const parallelSettledMs = performance.now() - t;
          const cpuParallelSettled = spentInParallel();
          skipping = true;
          injected.delayMs = options.latencyMs;
          t = performance.now();
          await mapLimit(ids, PARALLEL, write(`${value} par unprocessed`));
          const parallelUnprocessedMs = performance.now() - t;
          injected.delayMs = 0;
          await drain();
          skipping = false;
          if (warmup) {
            log(`fanout (a) ${variant} warm-up: propagation ${propagationMs.toFixed(0)} ms, ${PARALLEL}-way ${parallelMs.toFixed(0)} ms (not counted)`);
            continue;
          }
          runs.push({
            patchMs,
            toStreamMs,
            propagationMs,
            settledMs,
            sequentialMs,
            parallelMs,
            parallelUnprocessedMs,
            parallelSettledMs,
            requestsPerChild: requests / ids.length,
            byCommand,
            cpu: { propagation: cpuPropagation, parallel: cpuParallel },
          });
          const cpuText = (c: CpuSpent) => `node ${c.nodeMs.toFixed(0)} ms${c.jvmMs !== undefined ? ` + DynamoDB Local ${c.jvmMs.toFixed(0)} ms` : ''}`;
          log(
            `fanout (a) ${variant} run ${r}: PATCH ${patchMs.toFixed(0)} ms, record to handler +${toStreamMs.toFixed(0)} ms, propagation ${propagationMs.toFixed(0)} ms (settled ${settledMs.toFixed(0)}), sequential ${sequentialMs.toFixed(0)} ms, ${PARALLEL}-way ${parallelMs.toFixed(0)} ms (settled ${parallelSettledMs.toFixed(0)} ms; records unprocessed ${parallelUnprocessedMs.toFixed(0)} ms), ${(requests / ids.length).toFixed(2)} requests/child (${Object.entries(
              byCommand,
            )
              .map(([c, n]) => `${c} ${n}`)
              .join(
                ', ',
              )}); CPU during propagation ${cpuText(cpuPropagation)} (to settled ${cpuText(cpuPropagationSettled)}, ${readsPropagation} GetRecords taking ${readMsPropagation.toFixed(0)} ms), during the ${PARALLEL}-way loop ${cpuText(cpuParallel)} (to settled ${cpuText(cpuParallelSettled)}, ${readsParallel} GetRecords taking ${readMsParallel.toFixed(0)} ms)`,
          );
        } catch (error) {
          result.errors.push(`(a) ${variant} run ${r}: ${(error as Error).message.split('\n')[0]}`);
          log(`fanout (a) ${variant} run ${r}: FAILED ${(error as Error).message}`);
        } finally {
          injected.delayMs = 0;
          counting = undefined;
          skipping = false;
        }
      }
      const m = (f: (x: LatencyRun) => number) => median(runs.map(f));
      result.latency.push({
        variant,
        runs,
        median: {
          patchMs: m((x) => x.patchMs),
          toStreamMs: m((x) => x.toStreamMs),
          propagationMs: m((x) => x.propagationMs),
          settledMs: m((x) => x.settledMs),
          sequentialMs: m((x) => x.sequentialMs),
          parallelMs: m((x) => x.parallelMs),
          parallelUnprocessedMs: m((x) => x.parallelUnprocessedMs),
          vsSequential: m((x) => x.sequentialMs / x.propagationMs),
          vsParallel: m((x) => x.propagationMs / x.parallelMs),
          vsParallelUnprocessed: m((x) => x.propagationMs / x.parallelUnprocessedMs),
          parallelSettledMs: m((x) => x.parallelSettledMs),
          settledVsParallelSettled: m((x) => x.settledMs / x.parallelSettledMs),
          requestsPerChild: m((x) => x.requestsPerChild),
        },
      });
    }

    // ------------------------------------------------------------------ (b) coalescing
    const orgB = orgs[1]!;
    const apiB = await options.apiFor(orgB);
    const worldB = await syncedWorld(apiB);
    for (const mode of ['as deployed', 'hot-parent window off (hotMs 0)'] as const) {
      try {
        useNoQuiet = mode !== 'as deployed';
        const p = (await apiB('createCard', { params: { pipeId: worldB.parentPipe }, body: { values: { [worldB.pName]: 'Edit 0', [worldB.pTier]: 't' } } }))
          .body;
        await createDirect(
          { api: apiB, orgId: orgB, tableName, rawDoc, connectionId: worldB.connection, parentPipeId: worldB.parentPipe, childPipeId: worldB.childPipe },
          p.id,
          options.coalesceChildren,
        );
        await drain();
        const kids = await childIds(orgB, p.id);
        const versionsBefore = await childVersions(orgB, kids);
        const edits = options.edits ?? 20;
        counting = { total: 0, byKey: new Map() };
        parentTiming = { pk: keys.card(orgB, p.id).PK, max: 0, total: 0 };
        let last = p.version as number;
        let lastAt = 0;
        for (let e = 1; e <= edits; e++) {
          const started = performance.now();
          last = (await apiB('updateCard', { params: { cardId: p.id }, body: { values: { [worldB.pName]: `Edit ${e}` } } })).body.version;
          lastAt = performance.now();
          if (e < edits) await sleep(Math.max(0, (options.editGapMs ?? 300) - (lastAt - started)));
        }
        await markReached(orgB, p.id, last);
        const convergeMs = performance.now() - lastAt;
        await drain();
        const byKey = counting.byKey;
        counting = undefined;
        const writes = kids.map((id) => byKey.get(`${keys.card(orgB, id).PK}|${keys.card(orgB, id).SK}`) ?? 0);
        const versionsAfter = await childVersions(orgB, kids);
        const gained = kids.map((id) => versionsAfter.get(id)! - versionsBefore.get(id)!);
        const wrong = await childrenNotAt(orgB, kids, worldB.cName, `Edit ${edits}`);
        result.coalesce.push({
          mode,
          children: kids.length,
          edits,
          writesPerChild: { median: median(writes), max: Math.max(...writes), min: Math.min(...writes) },
          versionsPerChild: { median: median(gained), max: Math.max(...gained) },
          convergeMs,
          allAtLastValue: wrong === 0,
          parentBatchMs: { max: parentTiming.max, total: parentTiming.total },
        });
        log(
          `fanout (b) ${mode}: ${median(writes)} UpdateItem per child (max ${Math.max(...writes)}), converged ${convergeMs.toFixed(0)} ms after the last edit, ${wrong} children not at the last value; invocations holding the parent's records: longest ${parentTiming.max.toFixed(0)} ms, sum ${parentTiming.total.toFixed(0)} ms`,
        );
      } catch (error) {
        result.errors.push(`(b) ${mode}: ${(error as Error).message.split('\n')[0]}`);
        log(`fanout (b) ${mode}: FAILED ${(error as Error).message}`);
      } finally {
        counting = undefined;
        parentTiming = undefined;
        useNoQuiet = false;
      }
    }

    result.deadLetters = poller.deadLetters.length;
    for (const orgId of orgs) result.graphViolations.push(...(await checkGraph(rawDoc, tableName, orgId)).violations.slice(0, 5));
  } finally {
    injected.delayMs = 0;
    await poller.stop();
    raw.destroy();
  }
  return result;

  async function syncedWorld(api: Api) {
    const { parentPipe, childPipe, connection, pName, pTier, cName, cTier } = await createSyncedPipes(api, PIPE);
    return { parentPipe: parentPipe.id as string, childPipe: childPipe.id as string, connection: connection.id as string, pName, pTier, cName, cTier };
  }

  async function markReached(orgId: string, parentId: string, version: number) {
    const deadline = Date.now() + 1_800_000;
    for (;;) {
      const { Item: mark } = await rawDoc.send(new GetCommand({ TableName: tableName, Key: keys.fanOutMark(orgId, parentId), ConsistentRead: true }));
      if (mark && (mark['version'] as number) >= version) return;
      if (Date.now() > deadline) throw new Error(`fan-out of ${parentId} version ${version} not done in time`);
      await sleep(5);
    }
  }

  async function childIds(orgId: string, parentId: string): Promise<string[]> {
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

  async function readChildren(orgId: string, ids: string[], projection: string, names: Record<string, string>): Promise<Item[]> {
    const out: Item[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      let keysLeft: Item[] = ids.slice(i, i + 100).map((id) => keys.card(orgId, id));
      for (let attempt = 0; keysLeft.length; attempt++) {
        if (attempt > 20) throw new Error('BatchGetItem kept returning unprocessed keys');
        const page = await rawDoc.send(
          new BatchGetCommand({
            RequestItems: { [tableName]: { Keys: keysLeft, ConsistentRead: true, ProjectionExpression: projection, ExpressionAttributeNames: names } },
          }),
        );
        out.push(...((page.Responses?.[tableName] ?? []) as Item[]));
        keysLeft = (page.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
      }
    }
    return out;
  }

  async function childrenNotAt(orgId: string, ids: string[], fieldId: string, value: string): Promise<number> {
    const items = await readChildren(orgId, ids, '#id, #values.#f', { '#id': 'id', '#values': 'values', '#f': fieldId });
    return ids.length - items.filter((i) => (i['values'] as Record<string, unknown> | undefined)?.[fieldId] === value).length;
  }

  async function childVersions(orgId: string, ids: string[]): Promise<Map<string, number>> {
    const items = await readChildren(orgId, ids, '#id, #version', { '#id': 'id', '#version': 'version' });
    return new Map(items.map((i) => [i['id'] as string, i['version'] as number]));
  }
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');

export function fanoutMarkdown(r: FanoutBenchResult): string[] {
  const out: string[] = [];
  out.push(`### Fan-out (a): ${r.children.toLocaleString('en')} children, ${r.latencyMs} ms injected per DynamoDB call`);
  out.push('');
  out.push(
    `PATCH = the API request; + record to handler = then until the parent's stream record reached the processor (DynamoDB Local's stream and the poller); propagation = from the parent's PATCH until the stream processor marked that parent version fanned out (every child written, and for a title every parent-side summary); settled = until the stream went quiet (the children's own records included). ` +
      `Baselines in the same run, same client and delay: a sequential UpdateItem loop and a ${r.parallelism}-way parallel loop writing the attributes the fan-out writes to the same children, their children's stream records processed as the fan-out's are; then the ${r.parallelism}-way loop again with its records acknowledged unprocessed (the loop alone, the comparison before). ${r.parallelism}-way settled = from the loop's start until its children's records were processed too, as settled is for propagation. ` +
      `Fan-out tuning: ${r.tuning.chunk} edges a page, ${r.tuning.concurrency} children in flight. Medians of ${r.latency[0]?.runs.length ?? 0} runs. Targets: ≥ 10× faster than sequential; ≤ 1.5× the ${r.parallelism}-way loop for values, ≤ 3.5× for titles.`,
  );
  out.push('');
  out.push(
    `| synced | PATCH ms | + record to handler ms | propagation ms | settled ms | sequential loop ms | ${r.parallelism}-way loop ms | sequential ÷ propagation | propagation ÷ ${r.parallelism}-way | ${r.parallelism}-way, records unprocessed ms | propagation ÷ that | ${r.parallelism}-way settled ms | settled ÷ ${r.parallelism}-way settled | requests per child (stream + API) |`,
  );
  out.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const row of r.latency) {
    const m = row.median;
    out.push(
      `| ${row.variant} | ${f0(m.patchMs)} | ${f0(m.toStreamMs)} | ${f0(m.propagationMs)} | ${f0(m.settledMs)} | ${f0(m.sequentialMs)} | ${f0(m.parallelMs)} | ${m.vsSequential.toFixed(1)}× | ${m.vsParallel.toFixed(2)}× | ${f0(m.parallelUnprocessedMs)} | ${m.vsParallelUnprocessed.toFixed(2)}× | ${f0(m.parallelSettledMs)} | ${m.settledVsParallelSettled.toFixed(2)}× | ${m.requestsPerChild.toFixed(2)} |`,
    );
  }
  out.push('');
  out.push('### Fan-out (b): 20 quick edits of a synced field (coalescing)');
  out.push('');
  out.push(
    '| mode | children | edits | UpdateItem per child (median / max) | versions gained per child (median / max) | converged after last edit ms | every child at the last value | stream invocations holding the parent: longest / sum ms |',
  );
  out.push('|---|--:|--:|--:|--:|--:|---|--:|');
  for (const c of r.coalesce) {
    out.push(
      `| ${c.mode} | ${c.children} | ${c.edits} | ${c.writesPerChild.median} / ${c.writesPerChild.max} | ${c.versionsPerChild.median} / ${c.versionsPerChild.max} | ${f0(c.convergeMs)} | ${c.allAtLastValue ? 'yes' : '**no**'} | ${f0(c.parentBatchMs.max)} / ${f0(c.parentBatchMs.total)} |`,
    );
  }
  out.push('');
  out.push(
    `Setup ${r.setupSeconds.toFixed(0)} s. Dead letters: ${r.deadLetters}. Graph invariants: ${r.graphViolations.length ? `**${r.graphViolations.join('; ')}**` : 'hold'}.${r.errors.length ? ` Errors: ${r.errors.join('; ')}` : ''}`,
  );
  return out;
}
