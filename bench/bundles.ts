/**
 * Bundle sizes of the Lambda handlers, built with the options the CDK stack ships
 * (infra/bundling/options.ts: ESM, node24, minified, tree-shaken, AWS SDK from the runtime, zod
 * without locales),
 * one bundle per handler module (every route of a module ships the module's whole bundle) and per
 * stream handler, next to a baseline that only uses the DynamoDB client and lib-dynamodb.
 */
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { BASELINE_HANDLER_SOURCE, LAMBDA_BUILD_OPTIONS } from '../infra/bundling/options';

export interface BundleSize {
  name: string;
  routes: string[];
  bytes: number;
  gzipBytes: number;
  /** The largest contributors to the output, by package (repository source as "app"). */
  parts: Array<{ name: string; bytes: number }>;
  /** Set when esbuild could not build the entry (the sizes are then 0). */
  error?: string;
}

function packageOf(path: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path.replaceAll('\\', '/'));
  return m ? m[1]! : 'app';
}

function parts(metafile: Metafile): BundleSize['parts'] {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(path);
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage.entries()].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

async function measure(name: string, routes: string[], options: BuildOptions): Promise<BundleSize> {
  let result;
  try {
    result = await build({ ...LAMBDA_BUILD_OPTIONS, ...options });
  } catch (error) {
    return { name, routes, bytes: 0, gzipBytes: 0, parts: [], error: (error as Error).message.split('\n')[0]!.slice(0, 200) };
  }
  const js = result.outputFiles!.find((f) => f.path.endsWith('.mjs'))!.contents;
  return { name, routes, bytes: js.byteLength, gzipBytes: gzipSync(js).byteLength, parts: parts(result.metafile!) };
}

export async function bundleSizes(
  root: string,
  modules: Map<string, string[]>,
  /** Other Lambda entry points (no routes), relative to the root: stream handlers. */
  others: string[] = [],
): Promise<{ baseline: BundleSize; handlers: BundleSize[] }> {
  const baseline = await measure('baseline (client-dynamodb + lib-dynamodb)', [], {
    stdin: { contents: BASELINE_HANDLER_SOURCE, resolveDir: root, loader: 'js', sourcefile: 'baseline.mjs' },
  });
  const handlers: BundleSize[] = [];
  for (const [module, routes] of modules) {
    handlers.push(await measure(`functions/api/${module}.ts`, routes, { entryPoints: [`${root}/functions/api/${module}.ts`], absWorkingDir: root }));
  }
  for (const path of others) handlers.push(await measure(path, [], { entryPoints: [`${root}/${path}`], absWorkingDir: root }));
  return { baseline, handlers };
}
