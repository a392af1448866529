/**
 * Cold import time of an API area's bundle (what each API function loads on a cold start now)
 * next to a single-route bundle of the same area (the least a one-function-per-route design
 * could load) and a baseline bundle that only uses client-dynamodb + lib-dynamodb. Each bundle
 * is built as HouseFunction builds it (esbuild, ESM, node24, minified, SDK included), written
 * to a temporary directory and imported in a fresh `node` process; the time is measured inside
 * the process around the dynamic import (Node's own start-up excluded). Runs are interleaved
 * across bundles so load on the machine hits all of them alike; medians are reported.
 *
 *   npx tsx bench/area-cold-start.ts [--runs 11]      (also part of `npm run bench`)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';

const run = promisify(execFile);

const LAMBDA_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  treeShaking: true,
  mainFields: ['module', 'main'],
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  write: false,
  logLevel: 'silent',
  outfile: 'index.mjs',
};

const BASELINE_SOURCE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async (event) => (await client.send(new QueryCommand({ TableName: process.env.TABLE_NAME, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': event.pk } }))).Items;
`;

export interface ColdImportRow {
  area: string;
  /** The single route bundled on its own, for comparison. */
  route: string;
  areaRoutes: number;
  areaBytes: number;
  routeBytes: number;
  areaMedianMs: number;
  routeMedianMs: number;
}

export interface ColdImportResult {
  runs: number;
  baseline: { bytes: number; medianMs: number };
  rows: ColdImportRow[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function bundle(dir: string, name: string, options: BuildOptions): Promise<{ file: string; bytes: number }> {
  const result = await build({ ...LAMBDA_OPTIONS, ...options });
  const js = result.outputFiles!.find((f) => f.path.endsWith('.mjs'))!.contents;
  const file = join(dir, `${name}.mjs`);
  await writeFile(file, js);
  return { file, bytes: js.byteLength };
}

/** One cold import in a fresh process: milliseconds from before the import to after it. */
async function coldImport(file: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, AWS_REGION: 'us-east-1', TABLE_NAME: 'bench', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
  return Number(stdout.trim().split('\n').pop());
}

export async function areaColdStarts(root: string, runs = 11): Promise<ColdImportResult> {
  const { apiAreas } = await import('../functions/api/areas');
  const dir = await mkdtemp(join(tmpdir(), 'cardflow-cold-'));
  try {
    const baseline = await bundle(dir, 'baseline', { stdin: { contents: BASELINE_SOURCE, resolveDir: root, loader: 'js', sourcefile: 'baseline.mjs' } });
    const pairs = [];
    for (const area of apiAreas()) {
      const route = area.routes.find((r) => r.access !== 'RW') ?? area.routes[0]!;
      const areaBundle = await bundle(dir, `area-${area.name}`, { entryPoints: [join(root, `functions/api/areas/${area.name}.ts`)], absWorkingDir: root });
      const routeBundle = await bundle(dir, `route-${route.id}`, {
        stdin: { contents: `export { ${route.handler.export} as handler } from './functions/api/${route.handler.module}.ts';`, resolveDir: root, loader: 'ts', sourcefile: `${route.id}.ts` },
        absWorkingDir: root,
      });
      pairs.push({ area, route, areaBundle, routeBundle });
    }
    const times = new Map<string, number[]>();
    const files = [baseline.file, ...pairs.flatMap((p) => [p.areaBundle.file, p.routeBundle.file])];
    for (let i = 0; i < runs; i++) {
      for (const file of files) {
        const list = times.get(file) ?? [];
        list.push(await coldImport(file));
        times.set(file, list);
      }
    }
    return {
      runs,
      baseline: { bytes: baseline.bytes, medianMs: median(times.get(baseline.file)!) },
      rows: pairs.map(({ area, route, areaBundle, routeBundle }) => ({
        area: area.name,
        route: route.id,
        areaRoutes: area.routes.length,
        areaBytes: areaBundle.bytes,
        routeBytes: routeBundle.bytes,
        areaMedianMs: median(times.get(areaBundle.file)!),
        routeMedianMs: median(times.get(routeBundle.file)!),
      })),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function areaColdStartMarkdown(result: ColdImportResult): string[] {
  const kb = (x: number) => `${(x / 1024).toFixed(0)} KiB`;
  const out = [
    `### Cold import: area bundle vs single-route bundle (median of ${result.runs} fresh processes each, interleaved)`,
    '',
    `Baseline (client-dynamodb + lib-dynamodb only): ${kb(result.baseline.bytes)}, ${result.baseline.medianMs.toFixed(1)} ms.`,
    '',
    '| area | routes | area bundle | area import ms | one route | route bundle | route import ms | area ÷ route | area ÷ baseline |',
    '|---|--:|--:|--:|---|--:|--:|--:|--:|',
  ];
  for (const r of result.rows) {
    out.push(
      `| ${r.area} | ${r.areaRoutes} | ${kb(r.areaBytes)} | ${r.areaMedianMs.toFixed(1)} | ${r.route} | ${kb(r.routeBytes)} | ${r.routeMedianMs.toFixed(1)} | ${(r.areaMedianMs / r.routeMedianMs).toFixed(2)} | ${(r.areaMedianMs / result.baseline.medianMs).toFixed(2)} |`,
    );
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 11;
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  areaColdStarts(root, runs).then(
    (r) => console.log(areaColdStartMarkdown(r).join('\n')),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
