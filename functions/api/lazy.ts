/**
 * Schemas built on first use. A zod schema costs real time to construct (zod 4 gives every
 * instance its methods, and `.openapi(...)` clones it), and every API function imports the whole
 * contract: built at module level, the hundreds of schemas of all routes made up most of an area
 * function's cold start beyond the AWS SDK, for the handful its first request needs. Each schema
 * is a memoised thunk (`once`) and the route manifest's schema parts are getters (`deferred`), so
 * a function builds the schemas of the requests it serves when it serves them, and the OpenAPI
 * generator, walking the manifest, gets the very same instances (one source of truth).
 *
 * Module-level `once(...)` calls carry a pure annotation (`/* @__PURE__ *\/ once(...)`): esbuild
 * then drops the schemas no route of the bundle's area names (the route tables are per area,
 * functions/api/routes-<area>.ts), so a bundle neither builds nor holds the other areas' contract.
 */

/** A value built by `build` on the first call, the same one on every call after. */
export function once<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}

type Deferred<T> = { [K in keyof T]: T[K] extends () => infer R ? R : T[K] };

/**
 * `parts` with each function-valued property turned into a getter of what the function returns,
 * built on first read and then kept: `deferred({ status: 200, schema: () => Pipe() })` reads as
 * `{ status: 200, schema: Pipe() }`.
 */
export function deferred<const T extends Record<string, unknown>>(parts: T): Deferred<T> {
  const out: Record<string, unknown> = {};
  for (const [key, part] of Object.entries(parts)) {
    if (typeof part !== 'function') {
      out[key] = part;
      continue;
    }
    const get = once(part as () => unknown);
    Object.defineProperty(out, key, { get, enumerable: true, configurable: false });
  }
  return out as Deferred<T>;
}
