/** Builds the OpenAPI 3.1 document from the route manifest and its zod schemas. */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { ConnectionChange, DeadLetter, FieldValueSchemas, fieldValueComponent, Problem, z } from './schemas';
import { once } from './lazy';
import { MAX_BODY_BYTES } from './limits';
import { routeList } from './routes';

const PROBLEM_STATUSES: Record<number, string> = {
  400: 'Malformed request: invalid JSON, unknown property, wrong type, malformed id, header or cursor',
  401: 'Missing or invalid bearer token',
  403: 'The token role may not do this',
  404: 'No such resource in this organization',
  409: 'Conflicts with the current state',
  412: 'If-Match does not name the current version',
  413: `Body larger than ${MAX_BODY_BYTES} bytes`,
  415: 'Body is not JSON (send Content-Type: application/json)',
  422: 'Semantically invalid: field values, required fields, rules',
  429: 'Throttled: too many requests; wait Retry-After seconds (RateLimit headers say the limit)',
  500: 'A fault on our side; quote the requestId when you report it',
};

type Route = (typeof routeList)[number];

/**
 * The problem statuses an operation can answer, derived from what its manifest entry lets the
 * HTTP adapter and the use case do, so a new route declares them without anyone remembering.
 */
/** Authorized GETs answer every 200 with an ETag, and 304 to an If-None-Match that still matches (functions/api/http.ts). */
const conditionalGet = (route: Route) => route.method === 'GET' && route.role !== null;

export function problemStatuses(route: Route): number[] {
  const statuses = new Set<number>([429, 500]);
  if (route.role === null) return [...statuses].sort((a, b) => a - b);
  const reads = route.method === 'GET';
  // Any authorized route: bad token, wrong role; malformed path, query, headers or body.
  for (const s of [400, 401, 403]) statuses.add(s);
  if (!reads || route.request?.params || route.request?.query) statuses.add(404).add(422);
  if (!reads) statuses.add(409);
  if (route.ifMatch) statuses.add(412);
  for (const s of route.answers ?? []) statuses.add(s);
  if (route.request?.body) statuses.add(413).add(415);
  return [...statuses].sort((a, b) => a - b);
}

const ifMatchHeader = once(() =>
  z.string().optional().openapi({
    description:
      "ETag of the version you read; the change is refused with 412 if it is not current. On …/children routes it is the parent's ETag: connecting, creating and disconnecting children move the parent's version on.",
  }),
);

const ifNoneMatchHeader = once(() =>
  z.string().optional().openapi({
    description: 'An ETag you hold from an earlier GET; 304 with no body when it is still current.',
  }),
);

const idempotencyKeyHeader = once(() =>
  z.string().min(1).max(255).optional().openapi({
    description:
      'Makes a retried POST safe: within 24 hours the same key and body return the first response (header idempotent-replayed: true) and create nothing new; the same key with another body is 422, and 409 while the first is still running.',
  }),
);

/** The headers every 429 the API produces carries (functions/api/rate-limit.ts). */
const THROTTLE_HEADERS = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'string' as const, pattern: '^[0-9]+$' } },
  RateLimit: { description: 'IETF RateLimit header: `"api";r=<remaining>;t=<seconds until requests are admitted again>`', schema: { type: 'string' as const } },
  'RateLimit-Policy': {
    description: 'IETF RateLimit-Policy header: `"api";q=<requests>;w=<window seconds>` (the published steady rate)',
    schema: { type: 'string' as const },
  },
};

function problemResponseOf(status: number) {
  return {
    description: PROBLEM_STATUSES[status]!,
    ...(status === 429 ? { headers: THROTTLE_HEADERS } : {}),
    content: { 'application/problem+json': { schema: Problem() } },
  };
}

export const API_VERSION = '0.1.0';

export function buildOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT whose claims carry org_id, role (viewer, member, admin) and sub.',
  });
  registry.register('Problem', Problem());
  // Each field type's value: referenced by FieldValue, which the card and record schemas use.
  for (const [type, schema] of Object.entries(FieldValueSchemas()))
    registry.register(fieldValueComponent(type as keyof ReturnType<typeof FieldValueSchemas>), schema);
  registry.register('ConnectionChange', ConnectionChange());
  for (const route of routeList) {
    const headers = {
      ...(route.ifMatch ? { 'If-Match': ifMatchHeader() } : {}),
      ...(conditionalGet(route) ? { 'If-None-Match': ifNoneMatchHeader() } : {}),
      ...(route.method === 'POST' && route.role !== null ? { 'Idempotency-Key': idempotencyKeyHeader() } : {}),
    };
    registry.registerPath({
      operationId: route.id,
      method: route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'put' | 'delete',
      path: route.path,
      summary: route.summary,
      tags: [route.tag],
      ...(route.role !== null ? { security: [{ [bearer.name]: [] }], description: `Needs role: ${route.role} or higher.` } : { security: [] }),
      request: {
        ...(route.request?.params ? { params: route.request.params } : {}),
        ...(route.request?.query ? { query: route.request.query } : {}),
        ...(Object.keys(headers).length ? { headers: z.object(headers) } : {}),
        ...(route.request?.body
          ? {
              body: {
                required: true,
                description: `JSON, at most ${MAX_BODY_BYTES} bytes (413 above).`,
                content: { 'application/json': { schema: route.request.body } },
              },
            }
          : {}),
      },
      responses: {
        [route.success.status]: {
          description: route.success.description,
          ...(route.success.etag ? { headers: { ETag: { description: 'The item version', schema: { type: 'string' } } } } : {}),
          ...(route.success.schema ? { content: { 'application/json': { schema: route.success.schema } } } : {}),
          ...(route.id === 'openapi' ? { content: { 'application/json': { schema: { type: 'object' } } } } : {}),
          ...(route.id === 'docs' ? { content: { 'text/html': { schema: { type: 'string' } } } } : {}),
          ...(route.id === 'docsAssets' ? { content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } } : {}),
        },
        ...(conditionalGet(route) ? { 304: { description: 'Not Modified: the If-None-Match ETag is still current (no body)' } } : {}),
        ...(route.accepted
          ? {
              [route.accepted.status]: {
                description: route.accepted.description,
                headers: { Location: { description: 'The job to follow: /v1/jobs/{jobId}', schema: { type: 'string' } } },
                content: { 'application/json': { schema: route.accepted.schema } },
              },
            }
          : {}),
        ...Object.fromEntries(problemStatuses(route).map((status) => [status, problemResponseOf(status)])),
      },
    });
  }
  // Served by the local gateway beside the manifest's routes (no Lambda in AWS, where stream
  // records that exhaust their retries land in the SQS queue the stack outputs as DeadLetterQueueUrl).
  const problems = (statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, problemResponseOf(status)]));
  registry.registerPath({
    operationId: 'listDeadLetters',
    method: 'get',
    path: '/v1/admin/dead-letters',
    summary: 'Stream records that exhausted their retries (local runtime only)',
    description: 'Needs role: admin. Served by `npm start`; in AWS the same records are in the stream dead-letter queue (SQS).',
    tags: ['Operations'],
    security: [{ [bearer.name]: [] }],
    responses: {
      200: {
        description: 'The dead letters, oldest first',
        content: { 'application/json': { schema: z.object({ items: z.array(DeadLetter()) }).openapi('DeadLetterList') } },
      },
      ...problems([401, 403, 429, 500]),
    },
  });
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'cardflow API',
      version: API_VERSION,
      description: `Pipes, cards, databases, records and the connections between them. Request bodies are JSON of at most ${MAX_BODY_BYTES} bytes (413 above); errors are RFC 9457 problem+json.`,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This deployment (npm start serves it at http://localhost:3000)' }],
    tags: [...new Set(routeList.map((r) => r.tag))].map((name) => ({ name, description: `${name} operations` })),
  });
}
