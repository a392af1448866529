/** API token administration (admins signed in as users). The store is built once per container. */
import type { Principal } from '../../domain/kernel/auth';
import { documentClient } from '../../domain/kernel/client';
import { DynamoApiTokenStore } from '../../domain/tokens/store';
import * as tokens from '../../domain/tokens/tokens';
import { tableName } from '../shared/env';
import { contextFor } from '../shared/store';
import { apiHandler } from './http';
import { tokenRoutes as routes } from './routes-tokens';

const store = new DynamoApiTokenStore(documentClient, tableName());
const ctxFor = (principal: Principal): tokens.TokenContext => ({ ...contextFor(principal), tokens: store });

export const createApiToken = apiHandler(routes.createApiToken, async ({ principal, body }) => ({
  body: await tokens.createApiToken(ctxFor(principal), body),
}));

export const listApiTokens = apiHandler(routes.listApiTokens, async ({ principal }) => ({
  body: await tokens.listApiTokens(ctxFor(principal)),
}));

export const revokeApiToken = apiHandler(routes.revokeApiToken, async ({ principal, params }) => {
  await tokens.revokeApiToken(ctxFor(principal), params.tokenId);
  return {};
});
