/** Routes of API tokens; merged into the route manifest (functions/api/routes.ts). */
import * as s from './schemas';
import { deferred, once } from './lazy';
import { z } from './schemas';
import { defineRoutes, type RouteSpec } from './route-spec';

const tokenParams = /* @__PURE__ */ once(() => z.strictObject({ tokenId: s.Id('token') }));
const m = { module: 'tokens' } as const;

export const tokenRoutes = defineRoutes({
  createApiToken: {
    method: 'POST',
    path: '/v1/tokens',
    handler: { ...m, export: 'createApiToken' },
    access: 'RW',
    role: 'admin',
    summary: 'Create an API token for a machine; the response shows its secret, this once',
    tag: 'API tokens',
    request: deferred({ body: s.CreateApiToken }),
    success: deferred({ status: 201, description: 'The token with its secret', schema: s.ApiTokenWithSecret }),
  },
  listApiTokens: {
    method: 'GET',
    path: '/v1/tokens',
    handler: { ...m, export: 'listApiTokens' },
    access: 'RO',
    role: 'admin',
    summary: "List the organization's API tokens with their last use (never their secrets)",
    tag: 'API tokens',
    success: deferred({ status: 200, description: 'All tokens of the organization (one page)', schema: () => s.page(s.ApiToken(), 'ApiTokenPage') }),
  },
  revokeApiToken: {
    method: 'DELETE',
    path: '/v1/tokens/{tokenId}',
    handler: { ...m, export: 'revokeApiToken' },
    access: 'RW',
    role: 'admin',
    summary: 'Revoke an API token: requests that present it are refused from now on',
    tag: 'API tokens',
    request: deferred({ params: tokenParams }),
    success: { status: 204, description: 'Revoked' },
  },
} satisfies Record<string, RouteSpec>);
