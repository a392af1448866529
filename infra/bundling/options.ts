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
 */
import { fileURLToPath } from 'node:url';

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
} as const;

const STABLE_SOURCE_MAP = fileURLToPath(new URL('./stable-sourcemap.mjs', import.meta.url));

/** Commands for NodejsFunction's afterBundling hook: the source map's `sources` made relative to the project root. */
export const stableSourceMapCommands = (inputDir: string, outputDir: string): string[] => [`node "${STABLE_SOURCE_MAP}" "${inputDir}" "${outputDir}"`];
