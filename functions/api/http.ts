/**
 * The HTTP adapter every API handler is built with: a middy chain that authorizes from the
 * context the authorizer handed over (functions/auth: a user JWT or an API token, checked), parses and validates the request with the route's zod schemas,
 * makes POSTs idempotent under an `Idempotency-Key`, and turns AppErrors into RFC 9457
 * problem+json. The use case is all a handler adds.
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import middy, { type MiddlewareObj, type Request } from '@middy/core';
import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { actorOfPrincipal, principalFromAuthorizer, requireRole, type AuthorizerContext, type Principal } from '../../domain/kernel/auth';
import { AppError, BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError, type FieldProblem } from '../../domain/kernel/errors';
import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  IdempotencyResponseNotKeptError,
  parseIdempotencyKey,
  REPLAYED_HEADER,
  requestFingerprint,
} from '../../domain/idempotency/idempotency';
import type { z } from './schemas';
import { documentClient } from '../../domain/kernel/client';
import { IdempotencyStore, type IdempotencyRecord, type IdempotencyRef } from '../../domain/idempotency/store';
import { loadCursorKey } from '../shared/cursor-key';
import { tableName } from '../shared/env';
import { logger } from '../shared/logger';
import { recordApiCall } from '../shared/metrics';
import { runAs } from '../../domain/kernel/actor';
import { captureHandler } from '../shared/tracer';
import { MAX_BODY_BYTES } from './limits';
import { apiPolicy, asThrottle, rateLimitHeaders } from './rate-limit';
import { routeIdOf, type RouteSpec } from './route-spec';

export { MAX_BODY_BYTES };

export type ApiEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>;
export type ApiResult = APIGatewayProxyStructuredResultV2;

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;

export interface ApiRequest<R extends RouteSpec> {
  principal: R['role'] extends null ? Principal | undefined : Principal;
  params: Infer<NonNullable<R['request']>['params']>;
  query: Infer<NonNullable<R['request']>['query']>;
  body: Infer<NonNullable<R['request']>['body']>;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  requestId: string;
}

export interface ApiResponse {
  status?: number;
  body?: unknown;
  /** Item version, sent as a strong ETag. */
  version?: number;
  headers?: Record<string, string>;
  contentType?: string;
}

export const etagOf = (version: number) => `"${version}"`;

/**
 * A list page has no version: its ETag is weak, a hash of the page as sent (same items, same
 * values, same cursor → same tag). An item's ETag is its version (the one If-Match takes).
 */
export function weakEtagOf(body: string): string {
  return `W/"${createHash('sha256').update(body, 'utf8').digest('base64url').slice(0, 27)}"`;
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/ is ignored, `*` matches any. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim() === '*' || opaque(candidate) === opaque(etag));
}

/** A successful GET: an ETag on every answer, and 304 (no body) when the client has it already. */
function conditionalGet(response: ApiResult, ifNoneMatch: string | undefined): ApiResult {
  const headers = { ...(response.headers as Record<string, string>) };
  headers['etag'] ??= weakEtagOf(typeof response.body === 'string' ? response.body : '');
  if (!noneMatch(ifNoneMatch, headers['etag'])) return { ...response, headers };
  // 304 repeats the validators and caching headers of the 200 it stands for, and no body.
  const { 'content-type': _type, ...kept } = headers;
  return { statusCode: 304, headers: kept };
}

/** Parses an If-Match header into the version it names; `*` and absence mean "any". */
export function ifMatchVersion(headers: Record<string, string | undefined>): number | undefined {
  const raw = headers['if-match']?.trim();
  if (!raw || raw === '*') return undefined;
  const m = /^(?:W\/)?"(\d{1,15})"$/.exec(raw);
  if (!m)
    throw new BadRequestError('If-Match must be an ETag of this API, such as "3"', [
      { path: 'headers.if-match', message: 'not an ETag of this API', code: 'request.badIfMatch' },
    ]);
  return Number(m[1]);
}

function zodProblems(error: z.ZodError, prefix: string): FieldProblem[] {
  return error.issues.flatMap((issue) => {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: base ? `${base}.${key}` : key,
        message: `unknown property "${key}"`,
        code: 'request.unknownProperty',
      }));
    }
    return [{ path: base || prefix, message: issue.message, code: `request.${issue.code}` }];
  });
}

function parsePart<T extends z.ZodType | undefined>(schema: T, input: unknown, prefix: string): Infer<T> {
  if (!schema) return undefined as Infer<T>;
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = zodProblems(result.error, prefix);
    throw new BadRequestError(`The request ${prefix} is invalid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  }
  return result.data as Infer<T>;
}

/**
 * Query keys in deepObject style (`filter[fld_x][gte]=10`) become nested objects
 * (`{ filter: { fld_x: { gte: '10' } } }`), as qs-style parsers do; other keys stay as they are.
 */
export function nestQuery(params: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(key);
    if (!m || FORBIDDEN_KEYS.has(m[1]!)) {
      out[key] = value;
      continue;
    }
    const path = [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((p) => p[1]!)];
    if (path.some((p) => p === '' || FORBIDDEN_KEYS.has(p))) {
      out[key] = value;
      continue;
    }
    let node: Record<string, unknown> | undefined = out;
    for (const part of path.slice(0, -1)) {
      node[part] ??= {};
      const next: unknown = node[part];
      node = typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
      if (!node) break;
    }
    const last = path.at(-1)!;
    // A key that is both a value and an object (filter[a]=1&filter[a][gt]=2) stays flat: the
    // schema then refuses it by name.
    if (node && node[last] === undefined) node[last] = value;
    else out[key] = value;
  }
  return out;
}

function readBody(event: ApiEvent): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const size = Buffer.byteLength(raw, 'utf8');
  if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES, size);
  const contentType = (event.headers['content-type'] ?? '').toLowerCase();
  if (contentType && !/^application\/(?:[\w.+-]+\+)?json\b/.test(contentType)) {
    throw new UnsupportedMediaTypeError(contentType);
  }
  let forbiddenKey: string | undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw, (key, value) => {
      if (FORBIDDEN_KEYS.has(key)) forbiddenKey ??= key;
      return value;
    });
  } catch (error) {
    throw new BadRequestError(`The body is not valid JSON: ${(error as Error).message}`, [
      { path: 'body', message: 'not valid JSON', code: 'request.invalidJson' },
    ]);
  }
  if (forbiddenKey) {
    throw new BadRequestError(`The body uses the reserved property name "${forbiddenKey}"`, [
      { path: 'body', message: `reserved property name "${forbiddenKey}"`, code: 'request.reservedProperty' },
    ]);
  }
  return parsed;
}

/** Names that could reach an object's prototype if any code merged the body naively. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function json(status: number, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): ApiResult {
  return {
    statusCode: status,
    headers: { 'content-type': contentType, 'cache-control': 'no-store', ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

/** The error class in words ("Precondition Failed"); a bare AppError takes the HTTP reason phrase. */
function problemTitle(error: AppError): string {
  if (error.name === 'AppError') return STATUS_CODES[error.status] ?? 'Error';
  return error.name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1 $2') || (STATUS_CODES[error.status] ?? 'Error');
}

export function problemResponse(thrown: unknown, requestId: string, path: string): ApiResult {
  // A throttle the SDK's retries did not absorb is the client's to retry later: 429, not 500.
  const error = asThrottle(thrown);
  if (error instanceof AppError) {
    const retryAfter = error.extra['retryAfterSeconds'];
    // Every 429 says when to come back and what the limit is (RateLimit headers).
    const limitHeaders = error.status === 429 ? rateLimitHeaders(apiPolicy(), 0, typeof retryAfter === 'number' ? retryAfter : 1) : {};
    return json(
      error.status,
      {
        type: `urn:cardflow:problem:${error.code}`,
        title: problemTitle(error),
        status: error.status,
        detail: error.message,
        code: error.code,
        instance: path,
        ...(error.errors.length ? { errors: error.errors } : {}),
        ...error.extra,
        requestId,
      },
      { ...limitHeaders, ...(typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : error.status === 429 ? { 'retry-after': '1' } : {}) },
      'application/problem+json',
    );
  }
  logger.error('Unhandled error', { error: error as Error, requestId, path });
  return json(
    500,
    {
      type: 'urn:cardflow:problem:internal',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Something went wrong on our side. Quote the requestId when you report it.',
      code: 'internal',
      requestId,
    },
    {},
    'application/problem+json',
  );
}

// ---------------------------------------------------------------------------------------------
// Idempotency-Key (every POST route)
//
// The key is claimed after authorization and validation, so a request that is refused for its
// shape (400, 401, 403, 413, 415) leaves no record: it never started (as at Stripe). The record
// lives in the caller's organization, per route: the same key in two organizations, or on two
// routes, never collides.
//
// When the use case fails, the record is deleted, whatever the status:
// - 5xx and unexpected errors: the request may succeed when retried, so the retry must run.
// - 4xx AppErrors too. Stripe keeps a 4xx as the final answer for the key, but in cardflow a
//   use case that answers 4xx has written nothing (the DESIGN rule: bad input writes nothing,
//   every write is conditional), and many of our 4xx invite the very same request again
//   later: 404 for a pipe another request is still creating, 409 "phase is closing, try again",
//   412 after a stale read, 422 "fill the required fields before the card may leave". A
//   stored 4xx would pin those for 24 hours, and the client would need a fresh key for a
//   retry that is safe anyway. Keeping the 4xx protects nothing, since nothing happened.
//   It also keeps "bad input leaves the table exactly as it was" true with or without a key.
//
// A response is stored whole (gzipped above 16 KB). One that would not fit in a DynamoDB item
// even then cannot come from a request under MAX_BODY_BYTES in practice; if it ever does, the
// record stays "completed" without its body and a retry gets 409 idempotency.responseNotKept
// with the Location of the result, rather than running the request a second time.
// ---------------------------------------------------------------------------------------------

let idempotencyStore: IdempotencyStore | undefined;
/** Built on first use: routes without table access (health, openapi) never need TABLE_NAME. */
const idempotency = () => (idempotencyStore ??= new IdempotencyStore(documentClient, tableName()));

/** When no Lambda deadline is known, an in-progress record blocks duplicates this long. */
const DEFAULT_LEASE_MS = 30_000;

function replay(record: Extract<IdempotencyRecord, { status: 'completed' }>, requestId: string, path: string): ApiResult {
  const { statusCode, headers, body } = record.response;
  if (record.bodyOmitted) {
    const problem = problemResponse(new IdempotencyResponseNotKeptError(statusCode), requestId, path);
    return { ...problem, headers: { ...problem.headers, ...(headers['location'] ? { location: headers['location'] } : {}), [REPLAYED_HEADER]: 'true' } };
  }
  return {
    statusCode,
    headers: { 'cache-control': 'no-store', ...headers, [REPLAYED_HEADER]: 'true' },
    ...(body !== undefined && statusCode !== 204 ? { body } : {}),
  };
}

interface Attempt {
  ref: IdempotencyRef;
  fingerprint: string;
  requestId: string;
  path: string;
  /** How long our in-progress record blocks duplicates: until this Lambda cannot be running. */
  leaseMs: number;
}

async function runIdempotent({ ref, fingerprint, requestId, path, leaseMs }: Attempt, run: () => Promise<ApiResult>): Promise<ApiResult> {
  const store = idempotency();
  const claim = await store.claim(ref, fingerprint, requestId, leaseMs);
  if (claim.outcome === 'exists') {
    const { record } = claim;
    if (record.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
    if (record.status === 'in_progress') throw new IdempotencyInProgressError();
    return replay(record, requestId, path);
  }
  let result: ApiResult;
  try {
    result = await run();
  } catch (error) {
    // See above: any failure gives the key back. A failed release must not hide the error.
    await store
      .release(ref, requestId)
      .catch((releaseError: unknown) => logger.error('Could not release an idempotency key', { error: releaseError as Error, requestId, scope: ref.scope }));
    throw error;
  }
  try {
    const outcome = await store.complete(ref, requestId, {
      statusCode: result.statusCode ?? 200,
      headers: (result.headers ?? {}) as Record<string, string>,
      ...(typeof result.body === 'string' ? { body: result.body } : {}),
    });
    if (outcome !== 'stored') logger.warn('Idempotent response not fully stored', { outcome, requestId, scope: ref.scope });
  } catch (error) {
    // The work is done and the client should hear so; the in-progress record expires with its
    // lease (only this same request may then run again).
    logger.error('Could not complete an idempotency record', { error: error as Error, requestId, scope: ref.scope });
  }
  return result;
}

/**
 * Count, 4xx, 5xx and latency per route (functions/shared/metrics.ts). Registered first, so its
 * `after`/`onError` run last and see the final answer, problem+json included.
 */
function routeMetrics(routeId: string): MiddlewareObj<ApiEvent, ApiResult, Error, Context> {
  const started = new WeakMap<object, number>();
  const done = (request: Request<ApiEvent, ApiResult, Error, Context>) => {
    const start = started.get(request);
    recordApiCall(routeId, request.response?.statusCode ?? 500, start === undefined ? 0 : performance.now() - start);
  };
  return {
    before: (request) => void started.set(request, performance.now()),
    after: done,
    onError: done,
  };
}

export function apiHandler<R extends RouteSpec>(route: R, useCase: (request: ApiRequest<R>) => Promise<ApiResponse>) {
  const routeId = routeIdOf(route);
  return middy<ApiEvent, ApiResult, Error, Context>()
    .use(routeMetrics(routeId))
    .use(captureHandler<ApiEvent, ApiResult>())
    .use({
      onError: (request) => {
        const requestId = request.event?.requestContext?.requestId ?? request.context?.awsRequestId ?? 'unknown';
        request.response = problemResponse(request.error, requestId, request.event?.rawPath ?? '');
      },
    })
    .handler(async (event, context) => {
      const requestId = event.requestContext?.requestId ?? context.awsRequestId;
      await loadCursorKey();
      let principal: Principal | undefined;
      if (route.role !== null) {
        principal = principalFromAuthorizer(event.requestContext?.authorizer?.lambda as Record<string, unknown> | undefined);
        requireRole(principal, route.role);
      }
      const headers: Record<string, string | undefined> = Object.fromEntries(
        Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), typeof v === 'string' ? v : undefined]),
      );
      const idempotencyKey = route.method === 'POST' && principal ? parseIdempotencyKey(headers) : undefined;
      const rawBody = route.request?.body ? readBody(event) : undefined;
      const request = {
        principal,
        params: parsePart(route.request?.params, event.pathParameters ?? {}, 'params'),
        query: parsePart(route.request?.query, nestQuery(event.queryStringParameters ?? {}), 'query'),
        // An absent body reads as {}; a JSON null is a body, and not an object (400).
        body: route.request?.body ? parsePart(route.request.body, rawBody === undefined ? {} : rawBody, 'body') : undefined,
        headers,
        requestId,
      } as ApiRequest<R>;
      const run = async (): Promise<ApiResult> => {
        const result = await useCase(request);
        const status = result.status ?? route.success.status;
        const extraHeaders: Record<string, string> = { ...(result.version !== undefined ? { etag: etagOf(result.version) } : {}), ...result.headers };
        if (status === 204) return { statusCode: 204, headers: extraHeaders };
        const response = json(status, result.body, extraHeaders, result.contentType);
        return route.method === 'GET' && status === 200 ? conditionalGet(response, headers['if-none-match']) : response;
      };
      if (!principal) return run();
      const ref = idempotencyKey ? { orgId: principal.orgId, scope: routeId, key: idempotencyKey } : undefined;
      const path = event.rawPath ?? route.path;
      const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : DEFAULT_LEASE_MS;
      const runOnce = () =>
        ref
          ? runIdempotent(
              {
                ref,
                fingerprint: requestFingerprint({ method: route.method, path, query: event.rawQueryString, body: rawBody ?? null }),
                requestId,
                path,
                leaseMs: remaining + 1_000,
              },
              run,
            )
          : run();
      // Every write of the request records its caller (domain/kernel/actor.ts).
      return runAs(actorOfPrincipal(principal), runOnce);
    });
}
