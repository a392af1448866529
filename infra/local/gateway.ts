/**
 * The local stand-in for API Gateway (HTTP API, payload format 2.0, Lambda request authorizer):
 * matches a request against the route manifest, runs the same authorizer code as the deployed
 * authorizer function (functions/auth/authorize.ts: user JWTs from the dev issuer, API tokens
 * from the table), builds the event the Lambda would receive, invokes the very handler the CDK
 * stack deploys (the route's area function, which dispatches on the routeKey) and writes back
 * its result. Gateway-made errors are problem+json (API Gateway
 * itself answers {"message": …}). One difference is deliberate: a refused credential is 401
 * with the reason here, where API Gateway answers a bare 403 for a Lambda authorizer's deny.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { principalFromAuthorizer, type AuthorizerContext, type Principal } from '../../domain/kernel/auth';
import { ApiTokenAuthenticator } from '../../domain/tokens/tokens';
import { areaOf } from '../../functions/api/areas';
import { routeList, type RouteSpec } from '../../functions/api/routes';
import { createAuthorizer, type Authorize } from '../../functions/auth/authorize';
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS } from '../../functions/api/cors';
import { rateLimitHeaders, TokenBucket, type RateLimitPolicy } from '../../functions/api/rate-limit';
import type { DevIssuer } from './dev-issuer';

/** API Gateway HTTP API's payload limit. The handlers enforce their own, smaller one. */
export const MAX_GATEWAY_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway HTTP API's maximum integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 30_000;

export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_API_ID = 'local';

export type GatewayRoute = RouteSpec & { id: string };
export type ApiEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>;
/** What a v2 handler may return: the structured result, or the shorthand (any JSON value). */
export type LambdaHandler = (event: ApiEvent, context: Context, callback?: (error?: unknown, result?: unknown) => void) => unknown;

export interface GatewayOptions {
  issuer: DevIssuer;
  /** The authorizer; by default the deployed one's code, trusting the dev issuer and the table's API tokens. */
  authorize?: Authorize;
  /** Browser origins allowed by CORS (the stage file's corsOrigins in AWS); none by default. */
  corsOrigins?: readonly string[];
  /** The stage throttle (one token bucket for the API, as API Gateway's); none by default. */
  throttle?: RateLimitPolicy;
  routes?: readonly GatewayRoute[];
  /** Resolves a route's handler; by default functions/api/<module>.ts, imported on first use. */
  loadHandler?: (route: GatewayRoute) => Promise<LambdaHandler>;
  /** No access log lines. Handler crashes are still reported through logError. */
  quiet?: boolean;
  log?: (line: string) => void;
  logError?: (message: string, error: unknown) => void;
  maxBodyBytes?: number;
  timeoutMs?: number;
  region?: string;
  /**
   * Local-only GET endpoints (not in the route manifest, never deployed) that answer JSON to an
   * admin token of an organization, and are given its principal to scope what they show: the
   * stream poller's dead-letter list is one.
   */
  localEndpoints?: Record<string, (principal: Principal) => unknown>;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Route matching

type Segment = { literal: string } | { param: string; greedy: boolean };

interface CompiledRoute {
  route: GatewayRoute;
  segments: Segment[];
  literals: number;
}

export function compileRoutes(routes: readonly GatewayRoute[]): CompiledRoute[] {
  return routes.map((route) => {
    const segments = route.path
      .split('/')
      .slice(1)
      .map((part): Segment => {
        const m = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(part);
        return m ? { param: m[1]!, greedy: m[2] === '+' } : { literal: part };
      });
    return { route, segments, literals: segments.filter((s) => 'literal' in s).length };
  });
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i];
    if ('literal' in segment) {
      if (part === undefined || decode(part) !== segment.literal) return null;
      continue;
    }
    if (segment.greedy) {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.join('') === '') return null;
      params[segment.param] = rest.map(decode).join('/');
      return params;
    }
    if (part === undefined || part === '') return null;
    params[segment.param] = decode(part);
  }
  return parts.length === segments.length ? params : null;
}

export type RouteMatch =
  | { kind: 'route'; route: GatewayRoute; pathParameters: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

/** API Gateway's rule: the most specific matching route wins (literal segments over variables). */
export function matchRoute(compiled: CompiledRoute[], method: string, rawPath: string): RouteMatch {
  const parts = rawPath.split('/').slice(1);
  const hits = compiled
    .map((c) => ({ c, params: matchSegments(c.segments, parts) }))
    .filter((h): h is { c: CompiledRoute; params: Record<string, string> } => h.params !== null);
  if (hits.length === 0) return { kind: 'not-found' };
  const forMethod = hits.filter((h) => h.c.route.method === method).sort((a, b) => b.c.literals - a.c.literals);
  const best = forMethod[0];
  if (best) return { kind: 'route', route: best.c.route, pathParameters: best.params };
  return { kind: 'method-not-allowed', allow: [...new Set(hits.map((h) => h.c.route.method))].sort() };
}

// ---------------------------------------------------------------------------------------------
// The v2 event

export interface RequestInfo {
  method: string;
  /** Path and query exactly as sent (req.url). */
  url: string;
  /** Header name (any case) → all its values, in order. */
  headers: Record<string, string[] | string | undefined>;
  body?: Buffer;
  sourceIp: string;
  /** e.g. HTTP/1.1 */
  protocol: string;
}

const TEXT_TYPES = /^(text\/|application\/(?:[\w.+-]+\+)?(?:json|xml)\b|application\/(?:javascript|graphql|x-www-form-urlencoded)\b)/i;

/** API Gateway passes text bodies as they are and base64-encodes anything else. */
export function isTextContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXT_TYPES.test(contentType.trim());
}

/** 12/Mar/2020:19:03:58 +0000, the format of requestContext.time. */
export function apiGatewayTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export const newRequestId = () => randomBytes(10).toString('base64');

export function buildEvent(input: {
  request: RequestInfo;
  route: Pick<GatewayRoute, 'method' | 'path'>;
  pathParameters: Record<string, string>;
  /** The authorizer's context; absent on public routes (no authorizer). */
  authorizer?: AuthorizerContext;
  requestId?: string;
  now?: Date;
}): ApiEvent {
  const { request, route } = input;
  const now = input.now ?? new Date();
  const requestId = input.requestId ?? newRequestId();
  const hashless = request.url.split('#')[0]!;
  const queryAt = hashless.indexOf('?');
  const rawPath = queryAt === -1 ? hashless : hashless.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : hashless.slice(queryAt + 1);

  const headers: Record<string, string> = {};
  let cookieHeader: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    const lower = name.toLowerCase();
    if (lower === 'cookie') {
      cookieHeader = cookieHeader.concat(values);
      continue;
    }
    headers[lower] = headers[lower] === undefined ? values.join(',') : `${headers[lower]},${values.join(',')}`;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-port'] ??= /:(\d+)$/.exec(headers['host'] ?? '')?.[1] ?? '80';
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  const cookies = cookieHeader
    .flatMap((c) => c.split(';'))
    .map((c) => c.trim())
    .filter(Boolean);

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString !== '') {
    queryStringParameters = {};
    for (const [key, value] of new URLSearchParams(rawQueryString)) {
      const previous = queryStringParameters[key];
      queryStringParameters[key] = previous === undefined ? value : `${previous},${value}`;
    }
  }

  const routeKey = `${route.method} ${route.path}`;
  const host = headers['host'] ?? 'localhost';
  let body: string | undefined;
  let isBase64Encoded = false;
  if (request.body && request.body.length > 0) {
    isBase64Encoded = !isTextContentType(headers['content-type']);
    body = request.body.toString(isBase64Encoded ? 'base64' : 'utf8');
  }

  const event = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      // A Lambda authorizer's simple-response context arrives as authorizer.lambda.
      ...(input.authorizer ? { authorizer: { lambda: input.authorizer } } : {}),
      domainName: host,
      domainPrefix: host.split(/[.:]/)[0] ?? host,
      http: {
        method: request.method,
        path: rawPath,
        protocol: request.protocol,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(input.pathParameters).length ? { pathParameters: input.pathParameters } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded,
  };
  return event as ApiEvent;
}

// ---------------------------------------------------------------------------------------------
// The Lambda side

export function lambdaContext(functionName: string, timeoutMs: number, region: string): Context {
  const deadline = Date.now() + timeoutMs;
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const deprecated = () => {
    throw new Error('context.done/fail/succeed are not supported: return a value or a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${today}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: deprecated,
    fail: deprecated,
    succeed: deprecated,
  };
}

export interface HttpReply {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

export class MalformedResultError extends Error {}

/** Payload format 2.0 response rules, including the shorthand (no statusCode → 200 JSON). */
export function toHttpReply(result: unknown): HttpReply {
  const isStructured = result !== null && typeof result === 'object' && !Array.isArray(result) && 'statusCode' in result;
  if (!isStructured) {
    const body = result === undefined || result === null ? '' : typeof result === 'string' ? result : JSON.stringify(result);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(body, 'utf8') };
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  const statusCode = Number(structured.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new MalformedResultError(`the handler returned statusCode ${String(structured.statusCode)}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
  }
  const raw =
    structured.body === undefined || structured.body === null ? '' : typeof structured.body === 'string' ? structured.body : JSON.stringify(structured.body);
  const body = structured.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { statusCode, headers, cookies: structured.cookies ?? [], body };
}

class HandlerUnavailableError extends Error {}

/**
 * The deployed entry of a route: its area's handler (functions/api/areas/<area>.ts, export
 * `handler`), the very function the CDK API stack integrates the route with, so the routeKey
 * dispatch inside it runs locally as in AWS. Each area module is imported once, on first use.
 */
export function defaultHandlerLoader(): (route: GatewayRoute) => Promise<LambdaHandler> {
  const modules = new Map<string, Promise<Record<string, unknown>>>();
  const base = new URL('../../functions/api/areas/', import.meta.url);
  return async (route) => {
    const area = areaOf(route);
    const file = `functions/api/areas/${area}.ts`;
    let loading = modules.get(area);
    if (!loading) {
      loading = import(new URL(`${area}.ts`, base).href) as Promise<Record<string, unknown>>;
      modules.set(area, loading);
      // A module that is not there yet (or does not compile) is retried on the next request.
      loading.catch(() => modules.delete(area));
    }
    let loaded: Record<string, unknown>;
    try {
      loaded = await loading;
    } catch (error) {
      throw new HandlerUnavailableError(`${file} could not be loaded: ${(error as Error).message}`);
    }
    const handler = loaded['handler'];
    if (typeof handler !== 'function') throw new HandlerUnavailableError(`${file} has no export handler`);
    return handler as LambdaHandler;
  };
}

function invoke(handler: LambdaHandler, event: ApiEvent, context: Context): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const callback = (error?: unknown, result?: unknown) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event, context, callback) as { then?: unknown } | undefined;
      if (returned && typeof returned.then === 'function') (returned as Promise<unknown>).then(resolve, reject);
    } catch (error) {
      reject(error);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The HTTP server

class BodyTooLargeError extends Error {}

function problem(
  status: number,
  code: string,
  title: string,
  detail: string,
  instance: string,
  requestId: string,
  extra: Record<string, unknown> = {},
): HttpReply {
  const body = { type: `urn:cardflow:problem:${code}`, title, status, detail, code, instance, ...extra, requestId };
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
    cookies: [],
    body: Buffer.from(JSON.stringify(body), 'utf8'),
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks)));
    req.on('error', (error) => failed || reject(error));
  });
}

function send(res: ServerResponse, reply: HttpReply, requestId: string) {
  const headers: Record<string, string | string[]> = { ...reply.headers, 'apigw-requestid': requestId };
  if (reply.cookies.length) headers['set-cookie'] = reply.cookies;
  const bodyless = reply.statusCode === 204 || reply.statusCode === 304;
  if (!bodyless) headers['content-length'] = String(reply.body.length);
  res.writeHead(reply.statusCode, headers);
  res.end(bodyless ? undefined : reply.body);
}

/**
 * The deployed authorizer's code, configured for npm start: the dev issuer's keys, and API tokens
 * from the table the runtime configured (TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB), read on first use.
 */
export function localAuthorizer(issuer: DevIssuer, logError: (message: string, error: unknown) => void): Authorize {
  let tokens: Promise<ApiTokenAuthenticator> | undefined;
  return createAuthorizer({
    issuer: issuer.issuer,
    audience: [issuer.audience],
    keys: createLocalJWKSet(issuer.jwks),
    tokens: () =>
      (tokens ??= (async () => {
        const [{ documentClient }, { DynamoApiTokenStore }, { tableName }] = await Promise.all([
          import('../../domain/kernel/client'),
          import('../../domain/tokens/store'),
          import('../../functions/shared/env'),
        ]);
        return new ApiTokenAuthenticator(new DynamoApiTokenStore(documentClient, tableName()), Date.now, (error) =>
          logError('Could not note the last use of an API token:', error),
        );
      })()),
  });
}

export function createGateway(options: GatewayOptions): Server {
  const compiled = compileRoutes(options.routes ?? routeList);
  const loadHandler = options.loadHandler ?? defaultHandlerLoader();
  const maxBodyBytes = options.maxBodyBytes ?? MAX_GATEWAY_BODY_BYTES;
  const timeoutMs = options.timeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const region = options.region ?? process.env['AWS_REGION'] ?? 'us-east-1';
  const log = options.log ?? ((line: string) => console.log(line));
  const logError = options.logError ?? ((message: string, error: unknown) => console.error(message, error));
  const authorize = options.authorize ?? localAuthorizer(options.issuer, logError);
  const corsOrigins = options.corsOrigins ?? [];
  const bucket = options.throttle ? new TokenBucket(options.throttle) : undefined;
  /** On every answer to an allowed origin; API Gateway replaces any CORS headers a handler sets. */
  const withCors = (reply: HttpReply, origin: string | undefined): HttpReply => {
    if (corsOrigins.length === 0 || reply.headers['access-control-allow-origin']) return reply;
    const headers: Record<string, string> = { ...reply.headers, vary: reply.headers['vary'] ? `${reply.headers['vary']}, origin` : 'origin' };
    if (origin && corsOrigins.includes(origin)) {
      headers['access-control-allow-origin'] = origin;
      headers['access-control-expose-headers'] = CORS_EXPOSE_HEADERS.join(',');
    }
    return { ...reply, headers };
  };

  async function handle(req: IncomingMessage): Promise<{ reply: HttpReply; requestId: string }> {
    const requestId = newRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const rawPath = url.split(/[?#]/)[0]!;

    if (rawPath === '/.well-known/jwks.json' && (method === 'GET' || method === 'HEAD')) {
      const body = Buffer.from(JSON.stringify(options.issuer.jwks), 'utf8');
      return {
        requestId,
        reply: { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' }, cookies: [], body },
      };
    }

    const local = options.localEndpoints?.[rawPath];
    if (local && method === 'GET') {
      const decision = await authorize(req.headers['authorization']);
      if (!decision.allow)
        return { requestId, reply: problem(401, 'auth.unauthorized', 'Unauthorized', 'An admin bearer token is required', rawPath, requestId) };
      // The same caller rules as every route: no organization, no answer.
      const principal: Principal = principalFromAuthorizer(decision.context as unknown as Record<string, unknown>);
      if (principal.role !== 'admin') return { requestId, reply: problem(403, 'auth.forbidden', 'Forbidden', 'This needs the admin role', rawPath, requestId) };
      const body = Buffer.from(JSON.stringify(local(principal)), 'utf8');
      return { requestId, reply: { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, cookies: [], body } };
    }

    const match = matchRoute(compiled, method, rawPath);
    // A CORS preflight is answered by the gateway itself, before routes and the authorizer, as
    // API Gateway does once CORS is configured; headers only for an allowed origin.
    if (method === 'OPTIONS' && corsOrigins.length > 0 && req.headers['access-control-request-method'] && match.kind !== 'not-found') {
      const origin = req.headers['origin'];
      const headers: Record<string, string> = { vary: 'origin' };
      if (origin && corsOrigins.includes(origin)) {
        Object.assign(headers, {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': [...new Set(compiled.map((c) => c.route.method))].sort().join(','),
          'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
          'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
        });
      }
      return { requestId, reply: { statusCode: 204, headers, cookies: [], body: Buffer.alloc(0) } };
    }
    if (match.kind === 'not-found') {
      return { requestId, reply: problem(404, 'route.notFound', 'Not Found', `No route matches ${method} ${rawPath}`, rawPath, requestId) };
    }
    if (match.kind === 'method-not-allowed') {
      const reply = problem(
        405,
        'route.methodNotAllowed',
        'Method Not Allowed',
        `${rawPath} does not accept ${method}; it accepts ${match.allow.join(', ')}`,
        rawPath,
        requestId,
      );
      reply.headers['allow'] = match.allow.join(', ');
      return { requestId, reply };
    }
    const { route, pathParameters } = match;

    // Throttled before the authorizer runs, as the stage throttle is; but with a problem body
    // and the headers a client backs off by, which API Gateway's own 429 does not carry.
    const admitted = bucket?.take();
    if (bucket && admitted && !admitted.ok) {
      const { retryAfterSeconds } = admitted;
      const detail = `More than ${bucket.policy.rate} requests per second (bursts of ${bucket.policy.burst}); retry after ${retryAfterSeconds} s`;
      const reply = problem(429, 'request.throttled', 'Too Many Requests', detail, rawPath, requestId, { retryAfterSeconds });
      Object.assign(reply.headers, rateLimitHeaders(bucket.policy, 0, retryAfterSeconds), { 'retry-after': String(retryAfterSeconds) });
      return { requestId, reply };
    }

    let authorizer: AuthorizerContext | undefined;
    if (route.role !== null) {
      const header = req.headers['authorization'];
      const unauthorized = (detail: string, challenge: string) => {
        const reply = problem(401, 'auth.unauthorized', 'Unauthorized', detail, rawPath, requestId);
        reply.headers['www-authenticate'] = challenge;
        return { requestId, reply };
      };
      // API Gateway answers 401 itself when the identity source (the header) is missing.
      if (!header) return unauthorized('Send a JWT or an API token as Authorization: Bearer <token> (npm run token -- --org demo --role member)', 'Bearer');
      const decision = await authorize(header);
      if (!decision.allow) {
        return unauthorized(
          `The bearer token was refused: ${decision.reason}`,
          `Bearer error="invalid_token", error_description="${decision.reason.replaceAll('"', "'")}"`,
        );
      }
      authorizer = decision.context;
    }

    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) {
      return {
        requestId,
        reply: problem(
          413,
          'request.tooLarge',
          'Payload Too Large',
          `The request body is ${declared} bytes; the gateway accepts at most ${maxBodyBytes}`,
          rawPath,
          requestId,
        ),
      };
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      return {
        requestId,
        reply: problem(413, 'request.tooLarge', 'Payload Too Large', `The request body exceeds the gateway limit of ${maxBodyBytes} bytes`, rawPath, requestId),
      };
    }

    const event = buildEvent({
      request: {
        method,
        url,
        headers: req.headersDistinct,
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        protocol: `HTTP/${req.httpVersion}`,
      },
      route,
      pathParameters,
      ...(authorizer ? { authorizer } : {}),
      requestId,
    });

    let handler: LambdaHandler;
    try {
      handler = await loadHandler(route);
    } catch (error) {
      // A local set-up problem (module missing, not compiling), not a handler fault: say which.
      const detail = `The handler ${route.handler.module}.${route.handler.export} is not available: ${(error as Error).message}`;
      logError(detail, error);
      return { requestId, reply: problem(500, 'internal', 'Internal Server Error', detail, rawPath, requestId) };
    }
    try {
      const context = lambdaContext(`cardflow-${areaOf(route)}`, timeoutMs, region);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const result = await Promise.race([invoke(handler, event, context), timeout]).finally(() => clearTimeout(timer));
      if (result === 'timeout') {
        logError(`${route.id} did not answer within ${timeoutMs} ms`, undefined);
        return {
          requestId,
          reply: problem(503, 'gateway.timeout', 'Service Unavailable', `The integration did not answer within ${timeoutMs} ms`, rawPath, requestId),
        };
      }
      return { requestId, reply: toHttpReply(result) };
    } catch (error) {
      logError(`${route.id} (${route.handler.module}.${route.handler.export}) failed for ${method} ${rawPath}:`, error);
      return {
        requestId,
        reply: problem(500, 'internal', 'Internal Server Error', `The handler failed; see the runtime's log for requestId ${requestId}`, rawPath, requestId),
      };
    }
  }

  return createServer((req, res) => {
    const started = process.hrtime.bigint();
    void handle(req)
      .catch((error: unknown) => {
        logError(`gateway error for ${req.method} ${req.url}:`, error);
        const requestId = newRequestId();
        return { requestId, reply: problem(500, 'internal', 'Internal Server Error', 'The local gateway failed', req.url ?? '', requestId) };
      })
      .then(({ reply, requestId }) => {
        reply = withCors(reply, req.headers['origin']);
        send(res, reply, requestId);
        if (!options.quiet) {
          const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
          log(`${req.method} ${(req.url ?? '').split('?')[0]} ${reply.statusCode} ${ms}ms`);
        }
      });
  });
}

/** Starts the gateway; a taken port rejects with an error whose code is EADDRINUSE. */
export async function startGateway(options: GatewayOptions & { port: number; host?: string }): Promise<RunningGateway> {
  const server = createGateway(options);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
