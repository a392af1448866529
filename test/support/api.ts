/**
 * Calls the real Lambda handlers with API Gateway v2 events, as the Lambda authorizer would hand
 * them over (caller already checked). Integration tests use this against DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { Role } from '../../domain/kernel/auth';
import type { ApiEvent, ApiResult } from '../../functions/api/http';
import { areaOf } from '../../functions/api/areas';
import { routes, type RouteId } from '../../functions/api/routes';
import { Contract } from './contract';

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

export interface Caller {
  orgId: string;
  role: Role;
  userId?: string;
  /** Calls as this API token (rather than as a user). */
  tokenId?: string;
}

export interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** A raw body string, sent as is (for malformed JSON tests). */
  rawBody?: string;
  headers?: Record<string, string>;
  as?: Caller | null;
}

export interface CallResult<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

const areaModules: Record<string, Promise<{ handler?: Handler }>> = {};

/** The deployed entry of the route: its area's handler, which dispatches on the routeKey. */
function loadArea(area: string) {
  areaModules[area] ??= import(`../../functions/api/areas/${area}.ts`) as Promise<{ handler?: Handler }>;
  return areaModules[area]!;
}

export function fakeContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function buildEvent(routeId: RouteId, options: CallOptions, caller: Caller | null): ApiEvent {
  const route = routes[routeId];
  const params = options.params ?? {};
  const rawPath = route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
  const query = options.query ?? {};
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { 'content-type': 'application/json', ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])) },
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(params).length ? { pathParameters: params } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test.local',
      domainPrefix: 'test',
      http: { method: route.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: `${route.method} ${route.path}`,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
      // What the Lambda authorizer (functions/auth) hands over for a signed-in user.
      ...(caller
        ? {
            authorizer: {
              lambda: {
                orgId: caller.orgId,
                role: caller.role,
                sub: caller.userId ?? `user-${caller.role}`,
                kind: caller.tokenId ? 'token' : 'user',
                ...(caller.tokenId ? { tokenId: caller.tokenId } : {}),
              },
            },
          }
        : {}),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  } as ApiEvent;
}

let contract: Promise<Contract> | undefined;

/** The document the openapi handler serves, as the validator every call is checked against. */
function servedContract(): Promise<Contract> {
  return (contract ??= (async () => {
    const served = await invoke('openapi', {}, null);
    return new Contract(JSON.parse(served.body ?? ''));
  })());
}

/** Invokes the route's area handler (the function the CDK stack deploys for it) with the route's event. */
async function invoke(routeId: RouteId, options: CallOptions, caller: Caller | null): Promise<ApiResult & { rawPath: string }> {
  const route = routes[routeId];
  const area = areaOf(route);
  const { handler } = await loadArea(area);
  if (!handler) throw new Error(`functions/api/areas/${area}.ts has no export handler`);
  const event = buildEvent(routeId, options, caller);
  return { ...(await handler(event, fakeContext(`cardflow-${area}`))), rawPath: event.rawPath };
}

/**
 * Invokes the route's area handler. The response is checked against the served OpenAPI document
 * (status, content type, body): an answer the document does not promise fails the test.
 */
export async function call<T = any>(routeId: RouteId, options: CallOptions = {}, defaultCaller: Caller | null = null): Promise<CallResult<T>> {
  return callChecked<T>(routeId, options, defaultCaller, true);
}

/** The same without the contract check (benchmarks time the handler alone). */
export async function callUnchecked<T = any>(routeId: RouteId, options: CallOptions = {}, defaultCaller: Caller | null = null): Promise<CallResult<T>> {
  return callChecked<T>(routeId, options, defaultCaller, false);
}

async function callChecked<T>(routeId: RouteId, options: CallOptions, defaultCaller: Caller | null, check: boolean): Promise<CallResult<T>> {
  const route = routes[routeId];
  const caller = options.as === undefined ? defaultCaller : options.as;
  const result = await invoke(routeId, options, caller);
  const text = result.body ?? '';
  const headers = (result.headers ?? {}) as Record<string, string>;
  if (check) {
    const observed = { method: route.method, path: result.rawPath, status: result.statusCode ?? 200, contentType: headers['content-type'] ?? null, text };
    (await servedContract()).check(observed, routeId);
  }
  return {
    status: result.statusCode ?? 200,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: text ? JSON.parse(text) : undefined,
  };
}

/** A fresh organization per test file (or per test) keeps tests independent on one table. */
export function newOrg(label = 'org'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A client bound to one organization and role. */
export function client(orgId: string, role: Role = 'admin') {
  const caller = { orgId, role };
  return <T = any>(routeId: RouteId, options: CallOptions = {}) => call<T>(routeId, options, caller);
}
