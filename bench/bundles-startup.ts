/**
 * What ships and what it costs to start: every Lambda bundle the CDK deploys (the API area
 * entries functions/api/areas/*.ts, the authorizer, the stream and delivery handlers), built with
 * the options the stacks use (infra/bundling/options.ts), next to a bare lib-dynamodb handler
 * built the same way. Per bundle: bytes, gzip, and — for the API areas and the baseline — import
 * time and import + first call, each sample in a fresh Node process (what a cold start pays for
 * the code; Node's own start-up excluded), the first call being one real request to this run's
 * DynamoDB Local: an authorized GET of an id that does not exist (one read, then a 404), or the
 * baseline's one Query. Rounds alternate the bundles so machine load hits each alike; medians,
 * and ratios to the baseline's median from the same run and mode.
 *
 * Three modes (functions/shared/tracer.ts loads the X-Ray SDK only for a sampled invocation):
 * - untraced: POWERTOOLS_TRACE_ENABLED=false, as `npm start` and the tests run;
 * - Lambda, unsampled: the environment of a function with active tracing (AWS_EXECUTION_ENV,
 *   LAMBDA_TASK_ROOT, a trace header with Sampled=0);
 * - Lambda, sampled: the same with Sampled=1, the X-Ray daemon address pointing at a UDP socket
 *   of this process, which counts the segments each probe sends (proof the trace happened).
 * Also, per area, the one route the probe calls bundled alone (untraced): what a
 * one-function-per-route design would load instead of the area's bundle (issue 10, item 1).
 *
 * Bundles are written to bench/.out/ inside the repository, so the external `@aws-sdk/*` resolves
 * from node_modules as it does from the runtime in Lambda.
 *
 *   part of `npm run bench` (skipped with --no-bundles); alone: npx tsx bench/bundles-startup.ts [--runs 9]
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { availableParallelism, loadavg } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { BASELINE_HANDLER_SOURCE, LAMBDA_BUILD_OPTIONS, LAMBDA_BUNDLE, LAMBDA_NODE_OPTIONS, tracerChunkOptions } from '../infra/bundling/options';

/** The issue's targets. */
export const MAX_API_BUNDLE_BYTES = 500 * 1024;
export const MAX_STARTUP_RATIO = 1.3;

/**
 * Imports the bundle, calls the export once, prints the times as the last line: wall time, and
 * the process's CPU time (user + system) over the same span — the code's own cost, which a busy
 * machine inflates far less than the wall time (the DynamoDB Local server is another process).
 */
const PROBE = `
const [bundle, name, eventJson] = process.argv.slice(1);
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(bundle);
const t1 = performance.now();
const context = { awsRequestId: 'bench', functionName: 'bench', getRemainingTimeInMillis: () => 10000 };
const result = await mod[name](JSON.parse(eventJson), context);
const t2 = performance.now();
const c = process.cpuUsage(c0);
process.stdout.write('\\n' + JSON.stringify({ importMs: t1 - t0, totalMs: t2 - t0, cpuMs: (c.user + c.system) / 1000, status: result && result.statusCode }) + '\\n');
`;

/** How the probe's process is set up: see the file comment. */
export const MODES = ['untraced', 'lambda-unsampled', 'lambda-sampled'] as const;
export type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = {
  untraced: 'untraced',
  'lambda-unsampled': 'Lambda, traced, unsampled',
  'lambda-sampled': 'Lambda, traced, sampled',
};

export interface Startup {
  importMs: number[];
  totalMs: number[];
  medianImportMs: number;
  medianTotalMs: number;
  /** medianTotalMs ÷ the baseline's in the same mode. */
  ratio: number;
  /** CPU time (user + system) of import + first call. */
  cpuMs: number[];
  medianCpuMs: number;
  /** medianCpuMs ÷ the baseline's in the same mode. */
  cpuRatio: number;
  status?: number;
  /** Sampled mode: X-Ray segments received per probe (median). */
  segments?: number;
}

export interface BundleRow {
  name: string;
  entry: string;
  /** route: one API route bundled alone, for comparison with its area's bundle. */
  kind: 'baseline' | 'api' | 'route' | 'other';
  bytes: number;
  gzipBytes: number;
  /** Set for the baseline and the API areas (every mode), and the lone routes (untraced). */
  startup?: Partial<Record<Mode, Startup>>;
  error?: string;
}

export interface BundleStartupResult {
  runs: number;
  /** os.loadavg() (1, 5, 15 min) before and after the probes, and the CPU count. */
  load: { before: number[]; after: number[]; cpus: number };
  rows: BundleRow[];
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function probe(file: string, exportName: string, event: unknown, env: Record<string, string>, cwd: string) {
  return new Promise<{ importMs: number; totalMs: number; cpuMs: number; status?: number }>((done, fail) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE, pathToFileURL(file).href, exportName, JSON.stringify(event)],
      { env: { ...process.env, ...env }, cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return fail(new Error(`${error.message.split('\n')[0]} ${stderr.split('\n').slice(-3).join(' ')}`.slice(0, 300)));
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          done(JSON.parse(last) as { importMs: number; totalMs: number; cpuMs: number; status?: number });
        } catch {
          fail(new Error(`no timing line: ${last.slice(0, 200)}`));
        }
      },
    );
  });
}

/** An authorized GET of a missing id in the area: one DynamoDB read, a 404; and the route it calls. */
async function apiEvent(area: string, orgId: string): Promise<{ event: unknown; module: string; exportName: string } | undefined> {
  const { apiAreas } = await import('../functions/api/areas');
  const { ID_PREFIX } = await import('../domain/kernel/ids');
  const prefixes = ID_PREFIX as Readonly<Record<string, string>>;
  const kindOf = (param: string) => {
    const kind = param.replace(/Id$/, '');
    return kind === 'child' ? 'card' : kind;
  };
  const routes = apiAreas().find((a) => a.name === area)?.routes ?? [];
  // A GET with path ids of known kinds, the deepest first (a single-item read beats a list).
  // (The system area has public GETs only: its health route then.)
  const candidates = routes
    .filter((r) => r.method === 'GET')
    .map((r) => ({ r, names: [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!) }))
    .filter(({ names }) => names.every((n) => prefixes[kindOf(n)] !== undefined))
    .sort((a, b) => Number(b.r.role !== null) - Number(a.r.role !== null) || b.names.length - a.names.length);
  const chosen = candidates.find((c) => c.names.length > 0 && c.r.role !== null) ?? candidates[0];
  if (!chosen) return undefined;
  const pathParameters = Object.fromEntries(chosen.names.map((n) => [n, `${prefixes[kindOf(n)]}_01JD0000000000000000000000`]));
  const rawPath = chosen.names.reduce((p, n) => p.replace(`{${n}}`, pathParameters[n]!), chosen.r.path);
  const event = {
    version: '2.0',
    routeKey: `GET ${chosen.r.path}`,
    rawPath,
    rawQueryString: '',
    headers: {},
    pathParameters,
    requestContext: {
      requestId: 'bench',
      http: { method: 'GET', path: rawPath },
      authorizer: { lambda: { orgId, role: 'admin', sub: 'bench' } },
    },
    isBase64Encoded: false,
  };
  return { event, module: chosen.r.handler.module, exportName: chosen.r.handler.export };
}

/** A UDP socket standing in for the X-Ray daemon: counts the datagrams (one per segment) it receives. */
async function fakeXRayDaemon() {
  const socket = createSocket('udp4');
  let count = 0;
  socket.on('message', () => void count++);
  await new Promise<void>((ready) => socket.bind(0, '127.0.0.1', ready));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    /** Segments received since the last call (after a short wait for datagrams in flight). */
    async take(): Promise<number> {
      await new Promise((r) => setTimeout(r, 20));
      const n = count;
      count = 0;
      return n;
    },
    close: () => socket.close(),
  };
}

export async function bundleStartup(root: string, runs: number, env: { dynamoEndpoint: string; tableName: string }): Promise<BundleStartupResult> {
  const outDir = join(root, 'bench/.out/startup');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const orgId = `org_bench${randomUUID().slice(0, 8)}`;

  type Entry = { name: string; kind: BundleRow['kind']; entry: string; source?: string; event?: unknown; exportName: string; modes: readonly Mode[] };
  const entries: Entry[] = [
    {
      name: 'baseline: client-dynamodb + lib-dynamodb, one Query',
      entry: '(inline)',
      source: BASELINE_HANDLER_SOURCE,
      kind: 'baseline',
      event: { pk: `ORG#${orgId}#NONE` },
      exportName: 'handler',
      modes: MODES,
    },
  ];
  const lone: Entry[] = [];
  for (const file of (await readdir(join(root, 'functions/api/areas'))).filter((f) => f.endsWith('.ts')).sort()) {
    const area = file.replace(/\.ts$/, '');
    const probeOf = await apiEvent(area, orgId);
    entries.push({ name: `API area ${area}`, entry: `functions/api/areas/${file}`, kind: 'api', event: probeOf?.event, exportName: 'handler', modes: MODES });
    if (probeOf) {
      lone.push({
        name: `↳ ${probeOf.module}.${probeOf.exportName} alone`,
        entry: `functions/api/${probeOf.module}.ts#${probeOf.exportName}`,
        source: `export { ${probeOf.exportName} as handler } from './functions/api/${probeOf.module}.ts';`,
        kind: 'route',
        event: probeOf.event,
        exportName: 'handler',
        modes: ['untraced'],
      });
    }
  }
  entries.push(...lone);
  for (const entry of ['functions/auth/authorizer.ts', 'functions/streams/processor.ts', 'functions/deliveries/consumer.ts']) {
    entries.push({ name: entry.split('/').slice(1).join('/'), entry, kind: 'other', exportName: 'handler', modes: [] });
  }

  // As shipped: the Tracer's file beside the bundles, for the sampled probes.
  await build(tracerChunkOptions(root, outDir));
  const rows: BundleRow[] = [];
  const files: Array<string | undefined> = [];
  for (const [i, e] of entries.entries()) {
    try {
      const options: BuildOptions = e.source
        ? { stdin: { contents: e.source, resolveDir: root, loader: e.kind === 'baseline' ? 'js' : 'ts', sourcefile: `entry-${i}.ts` }, absWorkingDir: root }
        : { entryPoints: [join(root, e.entry)], absWorkingDir: root };
      // As shipped: with the linked source map the probes' --enable-source-maps reads.
      const file = join(outDir, `${i}.mjs`);
      const result = await build({
        ...LAMBDA_BUILD_OPTIONS,
        ...options,
        outfile: file,
        sourcemap: LAMBDA_BUNDLE.sourceMap,
        sourcesContent: LAMBDA_BUNDLE.sourcesContent,
      });
      const js = result.outputFiles!.find((f) => f.path.endsWith('.mjs'))!.contents;
      await writeFile(file, js);
      const map = result.outputFiles!.find((f) => f.path.endsWith('.map'));
      if (map) await writeFile(`${file}.map`, map.contents);
      files.push(e.event !== undefined ? file : undefined);
      rows.push({ name: e.name, entry: e.entry, kind: e.kind, bytes: js.byteLength, gzipBytes: gzipSync(js).byteLength });
    } catch (error) {
      files.push(undefined);
      rows.push({ name: e.name, entry: e.entry, kind: e.kind, bytes: 0, gzipBytes: 0, error: (error as Error).message.split('\n')[0]!.slice(0, 200) });
    }
  }

  const daemon = await fakeXRayDaemon();
  const common = {
    AWS_ENDPOINT_URL_DYNAMODB: env.dynamoEndpoint,
    TABLE_NAME: env.tableName,
    AWS_REGION: process.env['AWS_REGION'] ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env['AWS_ACCESS_KEY_ID'] ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env['AWS_SECRET_ACCESS_KEY'] ?? 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CURSOR_SIGNING_KEY: randomBytes(32).toString('base64'),
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
    // As in Lambda: the handlers write their EMF lines (to a pipe nobody reads here).
    POWERTOOLS_METRICS_DISABLED: 'false',
  };
  // What Lambda sets in a function with active tracing (the trace header changes per invocation).
  const lambda = (sampled: 0 | 1) => ({
    ...common,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    LAMBDA_TASK_ROOT: root,
    _HANDLER: 'index.handler',
    _X_AMZN_TRACE_ID: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=${sampled}`,
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  });
  const modeEnv: Record<Mode, () => Record<string, string>> = {
    untraced: () => ({ ...common, POWERTOOLS_TRACE_ENABLED: 'false' }),
    'lambda-unsampled': () => lambda(0),
    'lambda-sampled': () => lambda(1),
  };

  const loadBefore = loadavg();
  type Samples = { importMs: number[]; totalMs: number[]; cpuMs: number[]; segments: number[]; status?: number };
  const samples = entries.map((e) => new Map<Mode, Samples>(e.modes.map((m) => [m, { importMs: [], totalMs: [], cpuMs: [], segments: [] }])));
  try {
    for (let round = 0; round < runs; round++) {
      for (const mode of MODES) {
        for (const [i, e] of entries.entries()) {
          const file = files[i];
          const s = samples[i]!.get(mode);
          if (!file || !s || rows[i]!.error) continue;
          try {
            await daemon.take();
            const t = await probe(file, e.exportName, e.event, modeEnv[mode](), root);
            s.importMs.push(t.importMs);
            s.totalMs.push(t.totalMs);
            s.cpuMs.push(t.cpuMs);
            if (mode === 'lambda-sampled') s.segments.push(await daemon.take());
            s.status = t.status;
          } catch (error) {
            rows[i]!.error = `${MODE_LABEL[mode]}: ${(error as Error).message}`;
          }
        }
      }
    }
  } finally {
    daemon.close();
  }
  const loadAfter = loadavg();

  for (const mode of MODES) {
    const baselineTotal = median(samples[0]!.get(mode)?.totalMs ?? []);
    const baselineCpu = median(samples[0]!.get(mode)?.cpuMs ?? []);
    for (const [i, row] of rows.entries()) {
      const s = samples[i]!.get(mode);
      if (!s || s.totalMs.length === 0) continue;
      row.startup ??= {};
      row.startup[mode] = {
        importMs: s.importMs,
        totalMs: s.totalMs,
        medianImportMs: median(s.importMs),
        medianTotalMs: median(s.totalMs),
        ratio: median(s.totalMs) / baselineTotal,
        cpuMs: s.cpuMs,
        medianCpuMs: median(s.cpuMs),
        cpuRatio: median(s.cpuMs) / baselineCpu,
        ...(s.status !== undefined ? { status: s.status } : {}),
        ...(s.segments.length ? { segments: median(s.segments) } : {}),
      };
    }
  }
  return { runs, load: { before: loadBefore, after: loadAfter, cpus: availableParallelism() }, rows };
}

export function bundleStartupMarkdown(result: BundleStartupResult): string[] {
  const kb = (x: number) => `${(x / 1024).toFixed(1)} KiB`;
  const ms = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(0) : '–');
  const la = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' / ');
  const cell = (x: Startup | undefined, cpu: boolean) =>
    x ? `${ms(cpu ? x.medianCpuMs : x.medianTotalMs)} (${(cpu ? x.cpuRatio : x.ratio).toFixed(2)}×)` : '–';
  const out = [
    `### Lambda bundles as deployed, and import + first call (infra/bundling/options.ts; ${result.runs} fresh Node processes per bundle and mode, medians, same run)`,
    '',
    `Targets: API bundles ≤ ${kb(MAX_API_BUNDLE_BYTES)}, import + first call ≤ ${MAX_STARTUP_RATIO}× the baseline in the same mode. ` +
      "Each cell: median ms (× the baseline's median in that mode). wall: elapsed time; CPU: the probe process's user + system time over the same span, " +
      'which a loaded machine distorts far less (on an idle core the two are close, the one DynamoDB round trip apart).',
    `Machine load (1/5/15 min) on ${result.load.cpus} CPUs: ${la(result.load.before)} before the probes, ${la(result.load.after)} after.`,
    '',
    '| bundle | bytes | gzip | untraced wall | untraced CPU | Lambda unsampled wall | unsampled CPU | Lambda sampled wall | sampled CPU | segments | status | within target |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of result.rows) {
    if (r.error) {
      out.push(`| ${r.name} | ${r.bytes ? kb(r.bytes) : '–'} | | **failed**: ${r.error.replaceAll('|', '\\|')} |||||||||`);
      continue;
    }
    const u = r.startup?.untraced;
    const n = r.startup?.['lambda-unsampled'];
    const s = r.startup?.['lambda-sampled'];
    const sizeOk = r.kind !== 'api' || r.bytes <= MAX_API_BUNDLE_BYTES;
    const over: string[] = [];
    for (const m of MODES) {
      const x = r.startup?.[m];
      if (r.kind !== 'api' || !x) continue;
      if (x.ratio > MAX_STARTUP_RATIO) over.push(`${MODE_LABEL[m]} wall`);
      if (x.cpuRatio > MAX_STARTUP_RATIO) over.push(`${MODE_LABEL[m]} CPU`);
    }
    const verdict =
      r.kind === 'baseline'
        ? ''
        : r.kind === 'other'
          ? '(not an API bundle)'
          : r.kind === 'route'
            ? '(for comparison)'
            : sizeOk && over.length === 0
              ? 'yes'
              : `**no** (${[!sizeOk && 'size', ...over].filter(Boolean).join(', ')})`;
    out.push(
      `| ${r.name} | ${kb(r.bytes)} | ${kb(r.gzipBytes)} | ${cell(u, false)} | ${cell(u, true)} | ${cell(n, false)} | ${cell(n, true)} | ${cell(s, false)} | ${cell(s, true)} | ${s?.segments ?? '–'} | ${u?.status ?? '–'} | ${verdict} |`,
    );
  }
  return out;
}

// Alone: its own DynamoDB Local and table.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const local = await import('../infra/local/dynamodb-local');
  const dynamo = await local.startDynamoDbLocal();
  try {
    await local.ensureTable(dynamo.endpoint, 'cardflow-bench');
    const result = await bundleStartup(root, runs, { dynamoEndpoint: dynamo.endpoint, tableName: 'cardflow-bench' });
    console.log(bundleStartupMarkdown(result).join('\n'));
  } finally {
    await dynamo.stop();
  }
}
