// What "zod" resolves to in Lambda bundles (esbuild alias, infra/bundling/options.ts): zod's
// index, over the locale-free external module next to this file.
import * as z from './zod-external.mjs';
export * from './zod-external.mjs';
export { z, z as default };
