/**
 * How every Lambda bundle is built, in one place: HouseFunction (CDK NodejsFunction) and
 * `npm run bench` (bench/bundles-startup.ts) both read it, so what the bench measures is what ships.
 *
 * - ESM for Node 24, minified and tree-shaken, `module` before `main` (ESM builds shake better).
 * - `@aws-sdk/*` external: the Node.js 24 Lambda runtime ships AWS SDK v3, so bundles leave it out
 *   (CDK's own default for Node 18+). Trade-off: the SDK version that runs is the runtime's, not
 *   package-lock.json's (AWS updates it with the runtime); we use only long-stable commands
 *   (DynamoDB, KMS, EventBridge, SQS), and in return bundles lose ~330 KB each and load the SDK the
 *   runtime has already cached on disk. To pin the SDK again, empty SDK_EXTERNAL.
 * - "zod" resolves to zod without its 40 unused locales (infra/bundling/zod.mjs).
 * - A `require` for the CommonJS dependencies inside the ESM bundle (createRequire banner).
 * - Source maps whose paths do not depend on where the cloud assembly is written
 *   (stableSourceMapCommands): the asset hash is the bundle output's, so it is the same for
 *   `cdk synth -o a` and `-o b` and the template does not change with the directory.
 * - NODE_OPTIONS=--enable-source-maps (LAMBDA_NODE_OPTIONS), so stack traces in the logs name
 *   source lines. It costs start-up (Node reads and parses the map when the bundle loads), so the
 *   bench probes with it too.
 * - The Powertools Tracer and the X-Ray SDK (~125 KB, ~170 KB of map) are a second file beside
 *   the bundle (TRACER_CHUNK), which functions/shared/tracer.ts imports on the first sampled
 *   invocation: a cold start that is not traced neither parses nor source-maps them.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

export const SDK_EXTERNAL = ['@aws-sdk/*'];

export const ZOD_WITHOUT_LOCALES = fileURLToPath(new URL('./zod.mjs', import.meta.url));

export const LAMBDA_BUNDLE = {
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  treeShaking: true,
  mainFields: ['module', 'main'],
  external: SDK_EXTERNAL,
  alias: { zod: ZOD_WITHOUT_LOCALES },
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  /** A linked `.map` next to the bundle, without the sources' text. */
  sourceMap: true,
  sourcesContent: false,
} as const;

/** The functions' NODE_OPTIONS (HouseFunction), and the bench's probes'. */
export const LAMBDA_NODE_OPTIONS = '--enable-source-maps';

const STABLE_SOURCE_MAP = fileURLToPath(new URL('./stable-sourcemap.mjs', import.meta.url));

/** Commands for NodejsFunction's afterBundling hook: the source map's `sources` made relative to the project root. */
export const stableSourceMapCommands = (inputDir: string, outputDir: string): string[] => [`node "${STABLE_SOURCE_MAP}" "${inputDir}" "${outputDir}"`];

/** LAMBDA_BUNDLE as esbuild options for builds outside the CDK (bench, tests): in memory, with a metafile. */
export const LAMBDA_BUILD_OPTIONS: BuildOptions = {
  bundle: true,
  format: LAMBDA_BUNDLE.format,
  platform: LAMBDA_BUNDLE.platform,
  target: LAMBDA_BUNDLE.target,
  minify: LAMBDA_BUNDLE.minify,
  treeShaking: LAMBDA_BUNDLE.treeShaking,
  mainFields: [...LAMBDA_BUNDLE.mainFields],
  external: [...LAMBDA_BUNDLE.external],
  alias: { ...LAMBDA_BUNDLE.alias },
  banner: { js: LAMBDA_BUNDLE.banner },
  write: false,
  metafile: true,
  logLevel: 'silent',
  outfile: 'index.mjs',
};

/** The bench's baseline: a bare lib-dynamodb handler making one Query (bundled with the same options). */
export const BASELINE_HANDLER_SOURCE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async (event) => {
  const out = await client.send(new QueryCommand({ TableName: process.env.TABLE_NAME, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': event.pk } }));
  return { statusCode: 200, body: JSON.stringify(out.Items) };
};
`;

/** The Tracer's own file beside each bundle (see the file comment and functions/shared/tracer.ts). */
export const TRACER_CHUNK = { entry: 'functions/shared/xray-tracer.ts', file: 'xray-tracer.mjs' } as const;

/** esbuild options that write the Tracer chunk, with its linked map, into `outDir`: the bundles' own options. */
export function tracerChunkOptions(root: string, outDir: string): BuildOptions {
  return {
    ...LAMBDA_BUILD_OPTIONS,
    entryPoints: [join(root, TRACER_CHUNK.entry)],
    absWorkingDir: root,
    outfile: join(outDir, TRACER_CHUNK.file),
    write: true,
    metafile: false,
    sourcemap: LAMBDA_BUNDLE.sourceMap,
    sourcesContent: LAMBDA_BUNDLE.sourcesContent,
  };
}

const ESBUILD_JSON = fileURLToPath(new URL('./esbuild-json.mjs', import.meta.url));

/** Commands for NodejsFunction's afterBundling hook (before stableSourceMapCommands, which then fixes the chunk's map too). */
export const tracerChunkCommands = (inputDir: string, outputDir: string): string[] => [
  `node "${ESBUILD_JSON}" ${Buffer.from(JSON.stringify(tracerChunkOptions(inputDir, outputDir))).toString('base64')}`,
];
