/**
 * The HTTP adapter every API handler is built with: a middy chain that authorizes from the JWT
 * claims API Gateway verified, parses and validates the request with the route's zod schemas,
 * and turns AppErrors into RFC 9457 problem+json. The use case is all a handler adds.
 */
import middy from '@middy/core';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { principalFromClaims, requireRole, type Principal } from '../../domain/auth';
import { AppError, BadRequestError, PayloadTooLargeError, type FieldProblem } from '../../domain/errors';
import type { z } from '../../domain/schemas';
import { logger } from '../shared/logger';
import type { RouteSpec } from './routes';

/** Bodies above this are refused before parsing (API Gateway itself allows 10 MB). */
export const MAX_BODY_BYTES = 256 * 1024;

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
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

/** Parses an If-Match header into the version it names; `*` and absence mean "any". */
export function ifMatchVersion(headers: Record<string, string | undefined>): number | undefined {
  const raw = headers['if-match']?.trim();
  if (!raw || raw === '*') return undefined;
  const m = /^(?:W\/)?"(\d{1,15})"$/.exec(raw);
  if (!m) throw new BadRequestError('If-Match must be an ETag of this API, such as "3"', [{ path: 'headers.if-match', message: 'not an ETag of this API', code: 'request.badIfMatch' }]);
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

function readBody(event: ApiEvent): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const size = Buffer.byteLength(raw, 'utf8');
  if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES, size);
  const contentType = (event.headers['content-type'] ?? '').toLowerCase();
  if (contentType && !/^application\/(?:[\w.+-]+\+)?json\b/.test(contentType)) {
    throw new AppError(415, 'request.unsupportedMediaType', `Send JSON (Content-Type: application/json), not ${contentType}`);
  }
  let forbiddenKey: string | undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw, (key, value) => {
      if (FORBIDDEN_KEYS.has(key)) forbiddenKey ??= key;
      return value;
    });
  } catch (error) {
    throw new BadRequestError(`The body is not valid JSON: ${(error as Error).message}`, [{ path: 'body', message: 'not valid JSON', code: 'request.invalidJson' }]);
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

export function problemResponse(error: unknown, requestId: string, path: string): ApiResult {
  if (error instanceof AppError) {
    return json(
      error.status,
      {
        type: `urn:cardflow:problem:${error.code}`,
        title: error.name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1 $2') || 'Error',
        status: error.status,
        detail: error.message,
        code: error.code,
        instance: path,
        ...(error.errors.length ? { errors: error.errors } : {}),
        ...error.extra,
        requestId,
      },
      {},
      'application/problem+json',
    );
  }
  logger.error('Unhandled error', { error: error as Error, requestId, path });
  return json(
    500,
    { type: 'urn:cardflow:problem:internal', title: 'Internal Server Error', status: 500, detail: 'Something went wrong on our side. Quote the requestId when you report it.', code: 'internal', requestId },
    {},
    'application/problem+json',
  );
}

export function apiHandler<R extends RouteSpec>(route: R, useCase: (request: ApiRequest<R>) => Promise<ApiResponse>) {
  return middy<ApiEvent, ApiResult, Error, Context>()
    .use({
      onError: (request) => {
        const requestId = request.event?.requestContext?.requestId ?? request.context?.awsRequestId ?? 'unknown';
        request.response = problemResponse(request.error, requestId, request.event?.rawPath ?? '');
      },
    })
    .handler(async (event, context) => {
      const requestId = event.requestContext?.requestId ?? context.awsRequestId;
      let principal: Principal | undefined;
      if (route.role !== null) {
        principal = principalFromClaims(event.requestContext?.authorizer?.jwt?.claims as Record<string, unknown> | undefined);
        requireRole(principal, route.role);
      }
      const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const request = {
        principal,
        params: parsePart(route.request?.params, event.pathParameters ?? {}, 'params'),
        query: parsePart(route.request?.query, event.queryStringParameters ?? {}, 'query'),
        body: route.request?.body ? parsePart(route.request.body, readBody(event) ?? {}, 'body') : undefined,
        headers,
        requestId,
      } as ApiRequest<R>;
      const result = await useCase(request);
      const status = result.status ?? route.success.status;
      const extraHeaders = { ...(result.version !== undefined ? { etag: etagOf(result.version) } : {}), ...result.headers };
      if (status === 204) return { statusCode: 204, headers: extraHeaders };
      return json(status, result.body, extraHeaders, result.contentType);
    });
}
