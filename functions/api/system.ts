import { apiHandler } from './http';
import { API_VERSION, buildOpenApiDocument } from './openapi';
import { routes } from './routes';

export const health = apiHandler(routes.health, async () => ({ body: { status: 'ok', version: API_VERSION } }));

// Generated on first request and kept for the container's life: the schemas do not change.
let document: ReturnType<typeof buildOpenApiDocument> | undefined;

export const openapi = apiHandler(routes.openapi, async () => {
  document ??= buildOpenApiDocument();
  return { body: document, headers: { 'cache-control': 'public, max-age=300' } };
});
