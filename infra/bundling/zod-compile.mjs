// zod's compile API (v4/core/compile.js: z.compile, z.withParser) turns a schema into a fast
// parser. No handler calls it, yet the `z` namespace defeats tree-shaking and would put its 29 KB
// in every bundle: the same exports, the sentinels and error classes as zod defines them, and the
// two functions failing loudly (as fromJSONSchema in zod-external.mjs).
export const INVALID = Symbol.for('zod.compile.invalid');
export class ZodCompileAsyncError extends Error {
  constructor(message = 'z.compile does not support async refinements, transforms, or checks') {
    super(message);
    this.name = 'ZodCompileAsyncError';
  }
}
export class ZodCompileUnsupportedError extends Error {
  constructor(feature, islandable = true) {
    super(`z.compile does not support ${feature}; this schema must use the runtime parser`);
    this.name = 'ZodCompileUnsupportedError';
    this.islandable = islandable;
  }
}
const notBundled = (name) => () => {
  throw new Error(`zod ${name} is not bundled in the Lambda functions (infra/bundling/zod-compile.mjs)`);
};
export const compile = notBundled('compile');
export const withParser = notBundled('withParser');
export const compileFn = notBundled('compileFn');
