/** Routes of the API itself: health, the OpenAPI document and its reference page; merged into the route manifest (functions/api/routes.ts). */
import { defineRoutes, type RouteSpec } from './route-spec';
import { deferred } from './lazy';
import * as s from './schemas';

export const systemRoutes = defineRoutes({
  health: {
    method: 'GET',
    path: '/v1/health',
    handler: { module: 'system', export: 'health' },
    access: 'NONE',
    role: null,
    summary: 'Liveness check',
    tag: 'Operations',
    success: deferred({ status: 200, description: 'Up', schema: s.Health }),
  },
  openapi: {
    method: 'GET',
    path: '/v1/openapi.json',
    handler: { module: 'system', export: 'openapi' },
    access: 'NONE',
    role: null,
    summary: 'This OpenAPI document',
    tag: 'Operations',
    success: { status: 200, description: 'OpenAPI 3.1 document' },
  },
  docs: {
    method: 'GET',
    path: '/v1/docs',
    handler: { module: 'system', export: 'docs' },
    access: 'NONE',
    role: null,
    summary: 'The HTML reference of this API (swagger-ui over /v1/openapi.json, served offline)',
    tag: 'Operations',
    success: { status: 200, description: 'An HTML page' },
  },
  docsAssets: {
    method: 'GET',
    path: '/v1/docs/{asset}',
    handler: { module: 'system', export: 'docsAssets' },
    access: 'NONE',
    role: null,
    summary: "The reference page's scripts and stylesheet",
    tag: 'Operations',
    request: deferred({ params: s.DocsAssetParams }),
    answers: [404],
    success: { status: 200, description: 'swagger-ui-bundle.js, swagger-ui.css or init.js' },
  },
} satisfies Record<string, RouteSpec>);
