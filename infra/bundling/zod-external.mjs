// zod's own "zod" entry (v4/classic/external.js, zod 4.x) without its `locales` export: `z` is a
// namespace object, so esbuild cannot tree-shake the 40 translations (258 KB) it holds.
// English messages stay: v4/classic/schemas.js configures them itself. Paths are zod's files
// (its exports map offers no subpath for them); test/unit/bundling.test.ts checks they resolve.
export * as core from './zod-core.mjs';
export * from '../../node_modules/zod/v4/classic/schemas.js';
export * from '../../node_modules/zod/v4/classic/checks.js';
export * from '../../node_modules/zod/v4/classic/errors.js';
export * from '../../node_modules/zod/v4/classic/parse.js';
export * from '../../node_modules/zod/v4/classic/compat.js';
export {
  globalRegistry,
  registry,
  config,
  memoizer,
  $output,
  $input,
  $brand,
  clone,
  regexes,
  treeifyError,
  prettifyError,
  formatError,
  flattenError,
  TimePrecision,
  util,
  NEVER,
  toZod,
  getDiscriminatedOption,
} from '../../node_modules/zod/v4/core/index.js';
export { INVALID, compile, withParser, ZodCompileAsyncError, ZodCompileUnsupportedError } from './zod-compile.mjs';
export { toJSONSchema } from '../../node_modules/zod/v4/core/json-schema-processors.js';
// Building schemas from JSON Schema is never done in a handler, and its 12 KB would sit in every
// bundle (the `z` namespace defeats tree-shaking): a stub keeps zod's export list whole.
export function fromJSONSchema() {
  throw new Error('zod fromJSONSchema is not bundled in the Lambda functions (infra/bundling/zod-external.mjs)');
}
export { deepPartial } from '../../node_modules/zod/v4/classic/deep-partial.js';
export { input, output } from '../../node_modules/zod/v4/classic/in-out.js';
export { ZodISODateTime, ZodISODate, ZodISOTime, ZodISODuration } from '../../node_modules/zod/v4/classic/iso.js';
export * as iso from '../../node_modules/zod/v4/classic/iso.js';
export * as coerce from '../../node_modules/zod/v4/classic/coerce.js';
