/**
 * fast-check arbitraries for the write routes, derived from the same zod schemas that validate
 * requests (through their JSON Schema, z.toJSONSchema), plus hostile values: unicode, control
 * characters, lone surrogates, huge strings, wrong types, deep nesting, huge and non-finite
 * numbers, prototype-pollution keys, unknown properties, malformed ids and JSON.
 *
 * Every request they make is INVALID by construction. Each carries one "poison", and the
 * generator checks that the poison holds before the request is sent:
 * - body:    the body as sent on the wire is refused by the adapter's own rules: bigger than
 *            MAX_BODY_BYTES, not JSON, a reserved key, or `schema.safeParse` fails with the
 *            route's zod schema (mirrors readBody/parsePart in functions/api/http.ts; checked
 *            with a filter on the exact bytes sent);
 * - params:  the path parameters fail the route's params schema (checked with a filter);
 * - query:   the query string fails the route's query schema (checked with a filter);
 * - missing: at least one path id is well formed but names nothing (a fresh random ULID);
 * - domain:  the body passes zod but names a field or phase id that does not exist in this
 *            pipe or database (fresh random ULIDs): the use case refuses it before any write.
 * Other parts of the request (If-Match, Idempotency-Key, content type, the rest of the body)
 * are random noise, valid or not, since the poison alone decides the outcome.
 */
import fc from 'fast-check';
import { z } from '../../functions/api/schemas';
import { MAX_BODY_BYTES } from '../../functions/api/http';
import type { RouteId, RouteSpec } from '../../functions/api/routes';

export type WriteRoute = RouteSpec & { id: RouteId };

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
}

export const jsonSchemaOf = (schema: z.ZodType): JsonSchema => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

// ---------------------------------------------------------------------------------------------
// Raw JSON tokens that JSON.stringify cannot produce (1e999, NaN, 30-digit integers): a value is
// marked with RAW and toWire() splices the token into the serialized text.
// ---------------------------------------------------------------------------------------------
const RAW = '\u0000RAW\u0000';
const raw = (token: string) => `${RAW}${token}`;
const RAW_IN_JSON = /"\\u0000RAW\\u0000((?:[^"\\]|\\.)*)"/g;

export function toWire(value: unknown): string {
  const text = JSON.stringify(value) ?? '';
  return text.replace(RAW_IN_JSON, (_, token: string) => JSON.parse(`"${token}"`) as string);
}

/**
 * A deep copy that keeps own `__proto__` keys as keys. Generated values are copied before a
 * mutation touches them: fast-check reuses values while shrinking.
 */
function copy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copy) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) withOwn(out, k, copy(v));
  return out as T;
}

/** Sets an own enumerable property, even `__proto__` (an object literal would set the prototype). */
function withOwn(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------
const NASTY_STRINGS = [
  '',
  ' ',
  '\t',
  '\r\n',
  '\u0000',
  '\uFEFF',
  '\u200B',
  '\u202Egnp.exe',
  '\u0085',
  '\u2028',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-0',
  '0x1F',
  '١٢٣',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  '__proto__.polluted',
  'constructor.prototype.polluted',
  '<script>alert(1)</script>',
  "' OR '1'='1' --",
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '../../etc/passwd',
  '%00',
  '%2e%2e%2f',
  'ORG#other#CARD#card_01JD0000000000000000000000',
  '#META',
  'ORG#',
  'card_',
  'pipe_01JD000000000000000000000',
  'pipe_01jd0000000000000000000000',
  'pipe_01JD0000000000000000000000 ',
  'pipe_01JD00000000000000000000UU',
  'Ω≈ç√∫˜µ≤≥÷',
  '😀'.repeat(80),
  'ｆｕｌｌｗｉｄｔｈ',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
  '\uD800',
  '\uDFFF',
  'a\uD83Db',
  'x'.repeat(121),
  'x'.repeat(256),
  'y'.repeat(2_001),
  'z'.repeat(20_001),
];

const controlChars = fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 20 });
const loneSurrogates = fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 5 });

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 1, arbitrary: controlChars },
  { weight: 1, arbitrary: loneSurrogates },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 30_000 }).map((n) => 'é'.repeat(n)) },
);

/** Above the 256 KB body limit: 413. Built once; generated strings share them. */
const GIANT_STRINGS = ['x'.repeat(300 * 1024), '\u00e9'.repeat(200 * 1024), 'y'.repeat(1024 * 1024)];
const giantString = fc.constantFrom(...GIANT_STRINGS);

const hugeNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER + 2, -(2 ** 63), 0.1 + 0.2, -0, 1e21),
  fc.constantFrom('1e999', '-1e999', '123456789012345678901234567890', '1E400', '-0.0', '0.1e-400', '1.0000000000000000000001').map(raw),
  fc.double(),
  fc.integer(),
);

/** Tokens that are not JSON at all. */
const notJson = fc.constantFrom('NaN', 'Infinity', '-Infinity', 'undefined', "'single'", '0x10', '+1', '.5', '01').map(raw);

const deepNest: fc.Arbitrary<unknown> = fc.tuple(fc.integer({ min: 50, max: 800 }), fc.constantFrom('object', 'array', 'mixed')).map(([depth, kind]) => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = kind === 'array' || (kind === 'mixed' && i % 2) ? [value] : { a: value };
  return value;
});

export const protoKey = fc.constantFrom('__proto__', 'constructor', 'prototype');

const pollutedObject: fc.Arbitrary<unknown> = fc
  .tuple(protoKey, fc.constantFrom<unknown>({ polluted: true }, { isAdmin: true }, { toString: 'x' }, null, 'x'))
  .map(([key, value]) => withOwn({}, key, copy(value)));

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: hostileString },
  { weight: 1, arbitrary: giantString },
  { weight: 3, arbitrary: wrongType },
  { weight: 2, arbitrary: hugeNumber },
  { weight: 1, arbitrary: notJson },
  { weight: 1, arbitrary: deepNest },
  { weight: 1, arbitrary: pollutedObject },
);

// ---------------------------------------------------------------------------------------------
// Near-valid values from a JSON Schema (what zod's own schema says the route takes)
// ---------------------------------------------------------------------------------------------
export function fromJsonSchema(schema: JsonSchema): fc.Arbitrary<unknown> {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map(fromJsonSchema));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if ('const' in schema) return fc.constant(schema.const);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const min = schema.minItems ?? 0;
      return fc.array(schema.items ? fromJsonSchema(schema.items) : fc.jsonValue({ maxDepth: 1 }), {
        minLength: min,
        maxLength: Math.max(min, Math.min(schema.maxItems ?? 3, 3)),
      });
    }
    case 'object': {
      if (schema.properties && Object.keys(schema.properties).length) {
        const model = Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, fromJsonSchema(s)]));
        return fc.record(model, { requiredKeys: (schema.required ?? []) as never[] });
      }
      const keys = schema.propertyNames ? fromJsonSchema(schema.propertyNames).map(String) : fc.string({ maxLength: 10 });
      const values =
        typeof schema.additionalProperties === 'object' && Object.keys(schema.additionalProperties).length
          ? fromJsonSchema(schema.additionalProperties)
          : fc.jsonValue({ maxDepth: 2 });
      return fc.dictionary(keys, values, { maxKeys: 4 });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations: take a near-valid body and break it somewhere
// ---------------------------------------------------------------------------------------------
type Path = Array<string | number>;

function pathsOf(value: unknown, path: Path = [], out: Path[] = [], limit = 200): Path[] {
  if (out.length >= limit) return out;
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...path, i], out, limit));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...path, k], out, limit);
  return out;
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  let node = root as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
  return root;
}

function getAt(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, step) => (node as Record<string | number, unknown>)[step], root);
}

const mutation = fc.record({
  kind: fc.constantFrom('replace', 'replace', 'replace', 'extraKey', 'protoKey', 'deleteKey', 'wrapArray'),
  pick: fc.nat(),
  value: hostileValue,
  key: fc.oneof(fc.constantFrom('colour', 'id', 'orgId', 'PK', 'SK', 'version', 'createdAt', 'entity', ''), fc.string({ maxLength: 12 })),
  protoKey,
});

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function applyMutation(body: unknown, mutationValue: Mutation): unknown {
  const m = { ...mutationValue, value: copy(mutationValue.value) };
  const paths = pathsOf(body);
  const path = paths[m.pick % paths.length]!;
  const target = getAt(body, path);
  const isObject = target !== null && typeof target === 'object' && !Array.isArray(target);
  switch (m.kind) {
    case 'extraKey':
      return isObject ? (withOwn(target as Record<string, unknown>, m.key || 'x', m.value), body) : setAt(body, path, m.value);
    case 'protoKey':
      return isObject ? (withOwn(target as Record<string, unknown>, m.protoKey, m.value), body) : setAt(body, path, withOwn({}, m.protoKey, m.value));
    case 'deleteKey':
      if (isObject) {
        const keys = Object.keys(target as object);
        if (keys.length) delete (target as Record<string, unknown>)[keys[m.pick % keys.length]!];
        return body;
      }
      return setAt(body, path, m.value);
    case 'wrapArray':
      return setAt(body, path, [target]);
    default:
      return setAt(body, path, m.value);
  }
}

/** Damage done to the serialized text. */
const wireDamage = fc.oneof(
  fc.nat().map((n) => (wire: string) => wire.slice(0, n % Math.max(1, wire.length))),
  fc.constantFrom(
    (wire: string) => `${wire}}`,
    (wire: string) => `${wire},`,
    (wire: string) => `\uFEFF${wire}`,
    (wire: string) => `${wire}\u0000`,
    (wire: string) => wire.replace(/"/g, "'"),
    (wire: string) => wire.replace(/^\{/, '{/* comment */'),
    (wire: string) => wire.replace(/^\{/, '{"__proto__":{"polluted":true},'),
    (wire: string) => wire.replace(/^\{/, '{"constructor":{"prototype":{"polluted":true}},'),
    (wire: string) => `[${wire}]`,
    () => 'null',
    () => '',
    () => '"just a string"',
    () => '42',
  ),
);

// ---------------------------------------------------------------------------------------------
// What the adapter refuses (mirrors readBody and parsePart in functions/api/http.ts)
// ---------------------------------------------------------------------------------------------
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function bodyRefused(schema: z.ZodType, wire: string): boolean {
  if (Buffer.byteLength(wire, 'utf8') > MAX_BODY_BYTES) return true;
  if (wire === '') return !schema.safeParse({}).success;
  let forbidden = false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(wire, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) forbidden = true;
      return value;
    });
  } catch {
    return true;
  }
  return forbidden || !schema.safeParse(parsed).success;
}

/** A body the route's schema refuses, as the exact text sent. */
export function invalidBody(schema: z.ZodType): fc.Arbitrary<string> {
  const nearValid = fromJsonSchema(jsonSchemaOf(schema));
  return fc
    .record({ base: nearValid, mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }), damage: sometimes(wireDamage, 0.15) })
    .map(({ base, mutations, damage }) => {
      let body = copy(base);
      for (const m of mutations) body = applyMutation(body, m);
      const wire = toWire(body);
      return damage ? damage(wire) : wire;
    })
    .filter((wire) => bodyRefused(schema, wire));
}

/** Any body for the route, valid or not (noise next to another poison). */
export function anyBody(schema: z.ZodType): fc.Arbitrary<string> {
  return fc.oneof(fromJsonSchema(jsonSchemaOf(schema)).map(toWire), invalidBody(schema));
}

// ---------------------------------------------------------------------------------------------
// Path parameters
// ---------------------------------------------------------------------------------------------
const malformedId = (pattern: string, valid: string): fc.Arbitrary<string> =>
  fc.oneof(
    hostileString,
    fc.constantFrom(
      valid.toLowerCase(),
      `${valid}0`,
      valid.slice(0, -1),
      ` ${valid}`,
      `${valid}\n`,
      valid.replace(/_/, '-'),
      `${valid}/../x`,
      encodeURIComponent(`${valid}#`),
    ),
    fc.constantFrom('pipe', 'ph', 'fld', 'card', 'db', 'rec', 'conn').map((kind) => `${kind}_01JD0000000000000000000000`),
    fc.stringMatching(new RegExp(pattern)).map((id) => id.replace(/[0-9A-Z]$/, 'U')),
  );

export type Params = Record<string, string>;

export interface RouteRequest {
  poison: 'body' | 'params' | 'query' | 'missing' | 'domain';
  params: Params;
  query?: Record<string, string>;
  rawBody?: string;
  headers: Record<string, string>;
}

/** Ids that exist in the fuzzed organization. */
export interface Fixtures {
  pipeId: string;
  phaseId: string;
  pipeFieldId: string;
  cardId: string;
  databaseId: string;
  databaseFieldId: string;
  recordId: string;
}

/**
 * Well-formed params naming existing resources. A parameter without a fixture (a route added
 * later) gets one well-formed id, drawn once: it names nothing, which is fine for a poisoned
 * request.
 */
export function validParams(route: WriteRoute, fixtures: Fixtures): Params {
  const props = route.request?.params ? (jsonSchemaOf(route.request.params).properties ?? {}) : {};
  return Object.fromEntries(
    Object.entries(props).map(([name, schema]) => [
      name,
      fixtureFor(name, props, fixtures) ?? String(fc.sample(fromJsonSchema(schema), { numRuns: 1, seed: 42 })[0]),
    ]),
  );
}

const freshId = (kind: string) => fc.stringMatching(new RegExp(`^${kind}_[0-9A-HJKMNP-TV-Z]{26}$`));

/** Zod-valid bodies that name ids that do not exist here: refused by the use case (422). */
function domainPoison(route: WriteRoute): fc.Arbitrary<unknown> | undefined {
  const someValues = fc
    .tuple(freshId('fld'), fc.oneof(hostileValue, fc.jsonValue({ maxDepth: 2 })), fc.dictionary(freshId('fld'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }))
    .map(([unknownField, value, more]) => withOwn({ ...more }, unknownField, value));
  const title = fc.option(
    fc.string({ minLength: 1, maxLength: 40 }).filter((t) => t.trim().length > 0),
    { nil: undefined },
  );
  const withTitle = fc.record({ title, values: someValues }).map(({ title: t, values }) => (t === undefined ? { values } : { title: t, values }));
  switch (route.id) {
    case 'createCard':
    case 'updateCard':
    case 'createRecord':
    case 'updateRecord':
      return withTitle;
    case 'moveCard':
      return freshId('ph').map((phaseId) => ({ phaseId }));
    case 'updatePipe':
      return fc.oneof(
        freshId('fld').map((titleFieldId) => ({ titleFieldId })),
        fc.array(freshId('ph'), { minLength: 1, maxLength: 4 }).map((phaseOrder) => ({ name: 'Renamed', phaseOrder })),
      );
    case 'updateDatabase':
      return freshId('fld').map((titleFieldId) => ({ name: 'Renamed', titleFieldId }));
    case 'createPipeField':
      return freshId('ph').map((phaseId) => ({ label: 'New', type: 'short_text', phaseId }));
    default:
      return undefined;
  }
}

/** `arbitrary` with the given probability, otherwise undefined. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, probability: number): fc.Arbitrary<T | undefined> {
  const weight = Math.round(probability * 100);
  return fc.oneof({ weight: 100 - weight, arbitrary: fc.constant(undefined) }, { weight, arbitrary });
}

/**
 * HTTP cannot carry unpaired UTF-16 surrogates in a path or a header (they are not characters;
 * API Gateway hands over decoded UTF-8), so path parameters and header values avoid them.
 * Bodies keep them: JSON can spell them as \ud800 escapes.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

const ifMatchNoise = sometimes(
  fc.oneof(
    fc.constantFrom('*', '"1"', '"2"', 'W/"1"', '""', '"-1"', '"1.5"', '"99999999999999999999"', 'yesterday', '"1", "2"', '1'),
    fc.nat().map((n) => `"${n}"`),
    hostileString.filter(wellFormed),
  ),
  0.5,
);

const idempotencyKeyNoise = sometimes(
  fc.oneof(
    { weight: 4, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 255 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 300 }) },
    { weight: 1, arbitrary: hostileString.filter(wellFormed) },
  ),
  0.5,
);

const contentTypeNoise = sometimes(
  fc.constantFrom(
    'application/json; charset=utf-8',
    'application/merge-patch+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
  ),
  0.1,
);

/** One poisoned request for a write route (see the file comment for the guarantee). */
export function badRequest(route: WriteRoute, fixtures: Fixtures): fc.Arbitrary<RouteRequest> {
  const bodySchema = route.request?.body;
  const paramsSchema = route.request?.params;
  const props = paramsSchema ? (jsonSchemaOf(paramsSchema).properties ?? {}) : {};
  const names = Object.keys(props);
  const good = fc.constant(validParams(route, fixtures)).map((params) => ({ ...params }));
  const noiseBody: fc.Arbitrary<string | undefined> = bodySchema ? anyBody(bodySchema) : sometimes(fc.jsonValue({ maxDepth: 2 }).map(toWire), 0.3);
  const headers = fc
    .record({ ifMatch: ifMatchNoise, key: route.method === 'POST' ? idempotencyKeyNoise : fc.constant(undefined), contentType: contentTypeNoise })
    .map(({ ifMatch, key, contentType }) => ({
      ...(ifMatch !== undefined ? { 'If-Match': ifMatch } : {}),
      ...(key !== undefined ? { 'Idempotency-Key': key } : {}),
      ...(contentType !== undefined ? { 'Content-Type': contentType } : {}),
    }));

  const options: Array<{ weight: number; arbitrary: fc.Arbitrary<RouteRequest> }> = [];
  if (bodySchema) {
    options.push({
      weight: 5,
      arbitrary: fc.record({ params: good, rawBody: invalidBody(bodySchema), headers }).map((r) => ({ poison: 'body' as const, ...r })),
    });
  }
  if (paramsSchema && names.length) {
    // Built once per route: replace a non-empty subset of the valid params.
    const valid = validParams(route, fixtures);
    const replaceSome = (replacements: Record<string, fc.Arbitrary<string>>) =>
      fc.tuple(fc.subarray(names, { minLength: 1 }), fc.record(replacements)).map(([which, values]) => {
        const next = { ...valid };
        for (const name of which) next[name] = values[name]!;
        return next;
      });
    const broken = replaceSome(Object.fromEntries(names.map((name) => [name, malformedId(props[name]!.pattern ?? '.*', valid[name]!)]))).filter(
      (params) => Object.values(params).every(wellFormed) && !paramsSchema.safeParse(params).success,
    );
    options.push({
      weight: 2,
      arbitrary: fc.record({ params: broken, rawBody: noiseBody, headers }).map((r) => ({ poison: 'params' as const, ...r })),
    });
    const missing = replaceSome(Object.fromEntries(names.map((name) => [name, fromJsonSchema(props[name]!).map(String)]))).filter((params) =>
      differs(params, fixtures, names),
    );
    options.push({
      weight: 2,
      arbitrary: fc.record({ params: missing, rawBody: noiseBody, headers }).map((r) => ({ poison: 'missing' as const, ...r })),
    });
  }
  const domain = domainPoison(route);
  if (domain) {
    options.push({
      weight: 2,
      arbitrary: fc.record({ params: good, rawBody: domain.map(toWire), headers }).map((r) => ({ poison: 'domain' as const, ...r })),
    });
  }
  const querySchema = route.request?.query;
  let queryNoise: fc.Arbitrary<Record<string, string> | undefined> = fc.constant(undefined);
  if (querySchema) {
    // Query strings carry strings only; values from the schema, valid or not.
    const fromSchema = fromJsonSchema(jsonSchemaOf(querySchema)).map((q) => queryStrings(q));
    queryNoise = fromSchema;
    const invalidQuery = fc
      .tuple(fromSchema, fc.string({ maxLength: 12 }), hostileString.filter(wellFormed), fc.boolean())
      .map(([q, key, value, replace]) => {
        const keys = Object.keys(q);
        const target = replace && keys.length ? keys[value.length % keys.length]! : key || 'page';
        return { ...q, [target]: value };
      })
      .filter((q) => !querySchema.safeParse(q).success);
    options.push({
      weight: 2,
      arbitrary: fc.record({ params: good, rawBody: noiseBody, headers, query: invalidQuery }).map((r) => ({ poison: 'query' as const, ...r })),
    });
  }
  if (!options.length) throw new Error(`No way to poison ${route.id}: it has neither body, params nor query`);
  return fc.tuple(fc.oneof(...options), queryNoise).map(([r, noise]) => {
    const query = 'query' in r ? r.query : noise;
    return {
      poison: r.poison,
      params: r.params,
      headers: r.headers,
      ...(r.rawBody !== undefined ? { rawBody: r.rawBody } : {}),
      ...(query && Object.keys(query).length ? { query } : {}),
    };
  });
}

function queryStrings(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

function fixtureFor(name: string, params: object, fixtures: Fixtures): string | undefined {
  if (name === 'fieldId') return 'databaseId' in params ? fixtures.databaseFieldId : fixtures.pipeFieldId;
  return (fixtures as unknown as Record<string, string | undefined>)[name];
}

/** At least one parameter is a fresh id rather than the existing one. */
function differs(params: Params, fixtures: Fixtures, names: string[]): boolean {
  return names.some((name) => params[name] !== fixtureFor(name, params, fixtures));
}
