import { NotFoundError } from '../../domain/kernel/errors';
import { docsAsset } from './docs-assets';
import { apiHandler, problemResponse, type ApiEvent, type ApiResult } from './http';
import { API_VERSION, buildOpenApiDocument } from './openapi';
import { systemRoutes as routes } from './routes-system';

export const health = apiHandler(routes.health, async () => ({ body: { status: 'ok', version: API_VERSION } }));

// Generated on first request and kept for the container's life: the schemas do not change.
let document: ReturnType<typeof buildOpenApiDocument> | undefined;

export const openapi = apiHandler(routes.openapi, async () => {
  document ??= buildOpenApiDocument();
  return { body: document, headers: { 'cache-control': 'public, max-age=300' } };
});

/**
 * GET /v1/docs: the HTML reference of this API, swagger-ui rendering /v1/openapi.json. Every URL
 * is relative to /v1/docs, so the page works behind any host; scripts come only from the API
 * itself (no inline script: the content security policy allows 'self' alone).
 */
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>cardflow API reference</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', window.location.href).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  docExpansion: 'list',
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout'
});
`;

const DOCS_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
  'x-content-type-options': 'nosniff',
};

const text = (body: string, contentType: string, cacheControl = 'public, max-age=300'): ApiResult => ({
  statusCode: 200,
  headers: { 'content-type': contentType, 'cache-control': cacheControl, ...DOCS_HEADERS },
  body,
});

export const docs = async (): Promise<ApiResult> => text(DOCS_PAGE, 'text/html; charset=utf-8');

/** GET /v1/docs/{asset}: swagger-ui's bundle and stylesheet (from swagger-ui-dist) and the page's init script. */
export const docsAssets = async (event: ApiEvent): Promise<ApiResult> => {
  const name = event.pathParameters?.['asset'] ?? '';
  if (name === 'init.js') return text(DOCS_INIT, 'text/javascript; charset=utf-8');
  const asset = docsAsset(name);
  if (!asset) return problemResponse(new NotFoundError('Docs asset', name), event.requestContext?.requestId ?? 'unknown', event.rawPath ?? '');
  // The files change only with the package version, which a deployment pins.
  return text(asset.body, asset.contentType, 'public, max-age=86400');
};
