/**
 * What ships and what it costs to start: every Lambda bundle the CDK deploys (the API area
 * entries functions/api/areas/*.ts, the authorizer, the stream and delivery handlers), built with
 * the options the stacks use (infra/bundling/options.ts), next to a bare lib-dynamodb handler
 * built the same way. Per bundle: bytes, gzip, and — for the API areas and the baseline — import
 * time and import + first call, each sample in a fresh Node process (what a cold start pays for
 * the code; Node's own start-up excluded), the first call being one real request to this run's
 * DynamoDB Local: an authorized GET of an id that does not exist (one read, then a 404), or the
 * baseline's one Query. Rounds alternate the bundles so machine load hits each alike; medians,
 * and ratios to the baseline's median from the same run.
 *
 * Bundles are written to bench/.out/ inside the repository, so the external `@aws-sdk/*` resolves
 * from node_modules as it does from the runtime in Lambda.
 *
 *   part of `npm run bench` (skipped with --no-bundles); alone: npx tsx bench/bundles-startup.ts [--runs 9]
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { BASELINE_HANDLER_SOURCE, LAMBDA_BUILD_OPTIONS } from '../infra/bundling/options';

/** The issue's targets. */
export const MAX_API_BUNDLE_BYTES = 500 * 1024;
export const MAX_STARTUP_RATIO = 1.3;



/** Imports the bundle, calls the export once, prints the two times as the last line. */
const PROBE = `
const [bundle, name, eventJson] = process.argv.slice(1);
const t0 = performance.now();
const mod = await import(bundle);
const t1 = performance.now();
const context = { awsRequestId: 'bench', functionName: 'bench', getRemainingTimeInMillis: () => 10000 };
const result = await mod[name](JSON.parse(eventJson), context);
const t2 = performance.now();
process.stdout.write('\\n' + JSON.stringify({ importMs: t1 - t0, totalMs: t2 - t0, status: result && result.statusCode }) + '\\n');
`;

export interface BundleRow {
  name: string;
  entry: string;
  kind: 'baseline' | 'api' | 'other';
  bytes: number;
  gzipBytes: number;
  /** Set for the baseline and API areas. */
  startup?: { importMs: number[]; totalMs: number[]; medianImportMs: number; medianTotalMs: number; ratio: number; status?: number };
  error?: string;
}

export interface BundleStartupResult {
  runs: number;
  rows: BundleRow[];
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function probe(file: string, exportName: string, event: unknown, env: Record<string, string>, cwd: string) {
  return new Promise<{ importMs: number; totalMs: number; status?: number }>((done, fail) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE, pathToFileURL(file).href, exportName, JSON.stringify(event)],
      { env: { ...process.env, ...env }, cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return fail(new Error(`${error.message.split('\n')[0]} ${stderr.split('\n').slice(-3).join(' ')}`.slice(0, 300)));
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          done(JSON.parse(last) as { importMs: number; totalMs: number; status?: number });
        } catch {
          fail(new Error(`no timing line: ${last.slice(0, 200)}`));
        }
      },
    );
  });
}

/** An authorized GET of a missing id in the area: one DynamoDB read, a 404. */
async function apiEvent(area: string, orgId: string): Promise<unknown | undefined> {
  const { apiAreas } = await import('../functions/api/areas');
  const { ID_PREFIX } = await import('../domain/ids');
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
  return {
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
}

export async function bundleStartup(root: string, runs: number, env: { dynamoEndpoint: string; tableName: string }): Promise<BundleStartupResult> {
  const outDir = join(root, 'bench/.out/startup');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const orgId = `org_bench${randomUUID().slice(0, 8)}`;

  const entries: Array<{ name: string; entry: string; kind: BundleRow['kind']; event?: unknown; exportName: string }> = [
    { name: 'baseline: client-dynamodb + lib-dynamodb, one Query', entry: '(inline)', kind: 'baseline', event: { pk: `ORG#${orgId}#NONE` }, exportName: 'handler' },
  ];
  for (const file of (await readdir(join(root, 'functions/api/areas'))).filter((f) => f.endsWith('.ts')).sort()) {
    const area = file.replace(/\.ts$/, '');
    entries.push({ name: `API area ${area}`, entry: `functions/api/areas/${file}`, kind: 'api', event: await apiEvent(area, orgId), exportName: 'handler' });
  }
  for (const entry of ['functions/auth/authorizer.ts', 'functions/streams/processor.ts', 'functions/deliveries/consumer.ts']) {
    entries.push({ name: entry.split('/').slice(1).join('/'), entry, kind: 'other', exportName: 'handler' });
  }

  const rows: BundleRow[] = [];
  const files: Array<string | undefined> = [];
  for (const [i, e] of entries.entries()) {
    try {
      const options: BuildOptions =
        e.kind === 'baseline'
          ? { stdin: { contents: BASELINE_HANDLER_SOURCE, resolveDir: root, loader: 'js', sourcefile: 'baseline.mjs' } }
          : { entryPoints: [join(root, e.entry)], absWorkingDir: root };
      const result = await build({ ...LAMBDA_BUILD_OPTIONS, ...options });
      const js = result.outputFiles!.find((f) => f.path.endsWith('.mjs'))!.contents;
      const file = join(outDir, `${i}.mjs`);
      await writeFile(file, js);
      files.push(e.event !== undefined ? file : undefined);
      rows.push({ name: e.name, entry: e.entry, kind: e.kind, bytes: js.byteLength, gzipBytes: gzipSync(js).byteLength });
    } catch (error) {
      files.push(undefined);
      rows.push({ name: e.name, entry: e.entry, kind: e.kind, bytes: 0, gzipBytes: 0, error: (error as Error).message.split('\n')[0]!.slice(0, 200) });
    }
  }

  const probeEnv = {
    AWS_ENDPOINT_URL_DYNAMODB: env.dynamoEndpoint,
    TABLE_NAME: env.tableName,
    AWS_REGION: process.env['AWS_REGION'] ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env['AWS_ACCESS_KEY_ID'] ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env['AWS_SECRET_ACCESS_KEY'] ?? 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CURSOR_SIGNING_KEY: randomBytes(32).toString('base64'),
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    // As in Lambda: the handlers write their EMF lines (to a pipe nobody reads here).
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_TRACE_ENABLED: 'false',
  };
  const samples = entries.map(() => ({ importMs: [] as number[], totalMs: [] as number[], status: undefined as number | undefined }));
  for (let round = 0; round < runs; round++) {
    for (const [i, e] of entries.entries()) {
      const file = files[i];
      if (!file || rows[i]!.error) continue;
      try {
        const t = await probe(file, e.exportName, e.event, probeEnv, root);
        samples[i]!.importMs.push(t.importMs);
        samples[i]!.totalMs.push(t.totalMs);
        samples[i]!.status = t.status;
      } catch (error) {
        rows[i]!.error = (error as Error).message;
      }
    }
  }
  const baselineTotal = median(samples[0]!.totalMs);
  for (const [i, row] of rows.entries()) {
    const s = samples[i]!;
    if (s.totalMs.length === 0) continue;
    row.startup = {
      importMs: s.importMs,
      totalMs: s.totalMs,
      medianImportMs: median(s.importMs),
      medianTotalMs: median(s.totalMs),
      ratio: median(s.totalMs) / baselineTotal,
      ...(s.status !== undefined ? { status: s.status } : {}),
    };
  }
  return { runs, rows };
}

export function bundleStartupMarkdown(result: BundleStartupResult): string[] {
  const kb = (x: number) => `${(x / 1024).toFixed(1)} KiB`;
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  const out = [
    `### Lambda bundles as deployed, and import + first call (infra/bundling/options.ts; ${result.runs} fresh Node processes per bundle, medians, same run)`,
    '',
    `Targets: API bundles ≤ ${kb(MAX_API_BUNDLE_BYTES)}, import + first call ≤ ${MAX_STARTUP_RATIO}× the baseline.`,
    '',
    '| bundle | bytes | gzip | import ms | import + first call ms | × baseline | status | within target |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of result.rows) {
    if (r.error) {
      out.push(`| ${r.name} | ${r.bytes ? kb(r.bytes) : '–'} | | **failed**: ${r.error.replaceAll('|', '\\|')} |||||`);
      continue;
    }
    const s = r.startup;
    const sizeOk = r.kind !== 'api' || r.bytes <= MAX_API_BUNDLE_BYTES;
    const ratioOk = !s || r.kind !== 'api' || s.ratio <= MAX_STARTUP_RATIO;
    const verdict = r.kind === 'baseline' ? '' : r.kind === 'other' ? '(not an API bundle)' : sizeOk && ratioOk ? 'yes' : `**no** (${[!sizeOk && 'size', !ratioOk && 'start-up'].filter(Boolean).join(', ')})`;
    out.push(
      `| ${r.name} | ${kb(r.bytes)} | ${kb(r.gzipBytes)} | ${s ? ms(s.medianImportMs) : '–'} | ${s ? ms(s.medianTotalMs) : '–'} | ${s ? s.ratio.toFixed(2) : '–'} | ${s?.status ?? '–'} | ${verdict} |`,
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
