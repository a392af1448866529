/** Builds the OpenAPI 3.1 document from the route manifest and its zod schemas. */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { Problem, z } from '../../domain/schemas';
import { routeList } from './routes';

const PROBLEM_STATUSES: Record<number, string> = {
  400: 'Malformed request: invalid JSON, unknown property, wrong type, malformed id or cursor',
  401: 'Missing or invalid bearer token',
  403: 'The token role may not do this',
  404: 'No such resource in this organization',
  409: 'Conflicts with the current state',
  412: 'If-Match does not name the current version',
  413: 'Body too large',
  415: 'Body is not JSON',
  422: 'Semantically invalid: field values, required fields, rules',
};

export const API_VERSION = '0.1.0';

export function buildOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT whose claims carry org_id, role (viewer, member, admin) and sub.',
  });
  registry.register('Problem', Problem);
  for (const route of routeList) {
    const problems = route.role === null ? [] : [400, 401, 403, 404, 409, 412, 413, 415, 422].filter((s) => {
      if (s === 412) return route.success.etag && route.method !== 'GET' && route.method !== 'POST';
      if ([413, 415].includes(s)) return route.request?.body !== undefined;
      if (s === 409 || s === 422) return route.method !== 'GET' || s === 422;
      return true;
    });
    const writesWithVersion = ['PATCH', 'DELETE'].includes(route.method) || route.id === 'moveCard';
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
        ...(writesWithVersion
          ? {
              headers: z.object({
                'If-Match': z.string().optional().openapi({
                  description: 'ETag of the version you read; the change is refused with 412 if it is not current.',
                }),
              }),
            }
          : route.method === 'POST' && route.role !== null
            ? {
                headers: z.object({
                  'Idempotency-Key': z.string().min(1).max(255).optional().openapi({
                    description:
                      'Makes a retried POST safe: within 24 hours the same key and body return the first response (header idempotent-replayed: true) and create nothing new; the same key with another body is 422, and 409 while the first is still running.',
                  }),
                }),
              }
            : {}),
        ...(route.request?.body ? { body: { required: true, content: { 'application/json': { schema: route.request.body } } } } : {}),
      },
      responses: {
        [route.success.status]: {
          description: route.success.description,
          ...(route.success.etag ? { headers: { ETag: { description: 'The item version', schema: { type: 'string' } } } } : {}),
          ...(route.success.schema ? { content: { 'application/json': { schema: route.success.schema } } } : {}),
          ...(route.id === 'openapi' ? { content: { 'application/json': { schema: { type: 'object' } } } } : {}),
        },
        ...(route.accepted
          ? {
              [route.accepted.status]: {
                description: route.accepted.description,
                headers: { Location: { description: 'The job to follow: /v1/jobs/{jobId}', schema: { type: 'string' } } },
                content: { 'application/json': { schema: route.accepted.schema } },
              },
            }
          : {}),
        ...Object.fromEntries(
          problems.map((status) => [status, { description: PROBLEM_STATUSES[status]!, content: { 'application/problem+json': { schema: Problem } } }]),
        ),
        429: { description: 'Throttled by the stage rate limit; retry after a pause' },
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'cardflow API',
      version: API_VERSION,
      description: 'Pipes, cards, databases, records and the connections between them.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This deployment (npm start serves it at http://localhost:3000)' }],
    tags: [...new Set(routeList.map((r) => r.tag))].map((name) => ({ name, description: `${name} operations` })),
  });
}
