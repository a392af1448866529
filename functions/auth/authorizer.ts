/**
 * The Lambda request authorizer of the HTTP API (simple responses). Accepts user JWTs from the
 * configured issuer and the organization's API tokens; denies everything else. API Gateway caches
 * a decision per Authorization header for AUTHORIZER_CACHE_SECONDS (see infra/stacks/authorizer.ts),
 * which bounds how long a revoked token keeps working in AWS.
 */
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { createRemoteJWKSet } from 'jose';
import type { AuthorizerContext } from '../../domain/kernel/auth';
import { documentClient } from '../../domain/kernel/client';
import { DynamoApiTokenStore } from '../../domain/tokens/store';
import { ApiTokenAuthenticator } from '../../domain/tokens/tokens';
import { requiredEnv, tableName } from '../shared/env';
import { logger } from '../shared/logger';
import { createAuthorizer } from './authorize';

const issuer = requiredEnv('JWT_ISSUER');
const audience = requiredEnv('JWT_AUDIENCE')
  .split(',')
  .map((a) => a.trim())
  .filter(Boolean);
// Cognito (and most OIDC issuers) publish their keys here; JWKS_URL overrides it.
const jwksUrl = process.env['JWKS_URL'] ?? `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`;

const tokens = new ApiTokenAuthenticator(new DynamoApiTokenStore(documentClient, tableName()), Date.now, (error) =>
  logger.warn('Could not note the last use of an API token', { error: error as Error }),
);

const authorize = createAuthorizer({
  issuer,
  audience,
  // Keys are fetched once per container and refetched when a token names an unknown kid.
  keys: createRemoteJWKSet(new URL(jwksUrl)),
  tokens: () => tokens,
});

type Result = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>>;

export const handler = async (event: APIGatewayRequestAuthorizerEventV2): Promise<Result> => {
  const decision = await authorize(event.headers?.['authorization']);
  if (!decision.allow) {
    // The reason, never the credential.
    logger.info('Denied', { reason: decision.reason, routeKey: event.routeKey, requestId: event.requestContext?.requestId });
    return { isAuthorized: false, context: {} };
  }
  return { isAuthorized: true, context: decision.context };
};
