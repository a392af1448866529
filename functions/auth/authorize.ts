/**
 * The one authorizer, in AWS (the Lambda request authorizer in ./authorizer.ts) and in the local
 * gateway alike: a bearer credential is either an API token (`cft_…`, looked up by its hash) or a
 * user JWT (verified against the issuer's JWKS: signature, alg, iss, aud, exp, nbf, then iat and
 * the claims the handlers rely on). Anything else is denied; a fault (the JWKS or the table
 * unreachable) throws, so it is never mistaken for — or cached as — a decision.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { checkTokenTimes, CLOCK_SKEW_SECONDS, principalFromClaims, type AuthorizerContext } from '../../domain/kernel/auth';
import { UnauthorizedError } from '../../domain/kernel/errors';
import { isApiTokenCredential, type ApiTokenAuthenticator } from '../../domain/tokens/tokens';

/** Asymmetric algorithms only: a JWKS of public keys can never verify an HMAC (`none`, HS256) token. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface AuthorizerOptions {
  issuer: string;
  audience: string[];
  /** The issuer's keys: createRemoteJWKSet in AWS, the dev issuer's local set in npm start. */
  keys: JWTVerifyGetKey;
  /** Built on first use, so a gateway that never sees an API token needs no table. */
  tokens: () => ApiTokenAuthenticator | Promise<ApiTokenAuthenticator>;
  now?: () => number;
}

export type Decision = { allow: true; context: AuthorizerContext } | { allow: false; reason: string };

export type Authorize = (authorization: string | undefined) => Promise<Decision>;

/** jose error codes that describe the token (a deny), as opposed to a fault fetching keys. */
const TOKEN_ERRORS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'the token has expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the token signature does not verify',
  ERR_JWKS_NO_MATCHING_KEY: 'the token was not signed by a key of this issuer',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'the token was not signed by a key of this issuer',
  ERR_JOSE_ALG_NOT_ALLOWED: 'the token uses an algorithm that is not accepted',
  ERR_JWS_INVALID: 'the token is not a valid JWT',
  ERR_JWT_INVALID: 'the token is not a valid JWT',
  ERR_JOSE_NOT_SUPPORTED: 'the token uses an algorithm that is not accepted',
};

function describeJoseError(error: unknown): string | undefined {
  const code = (error as { code?: string }).code;
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const claim = (error as { claim?: string }).claim;
    return claim ? `the token's ${claim} claim is not accepted` : 'a token claim is not accepted';
  }
  return code ? TOKEN_ERRORS[code] : undefined;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function createAuthorizer(options: AuthorizerOptions): Authorize {
  const now = options.now ?? Date.now;
  const deny = (reason: string): Decision => ({ allow: false, reason });

  return async (authorization) => {
    const credential = BEARER.exec(authorization ?? '')?.[1];
    if (!credential) return deny('send a JWT or an API token as Authorization: Bearer <token>');

    if (isApiTokenCredential(credential)) {
      const result = await (await options.tokens()).authenticate(credential);
      if (!result.ok) return deny(result.reason);
      return { allow: true, context: { orgId: result.orgId, role: result.role, sub: result.tokenId, kind: 'token', tokenId: result.tokenId } };
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(credential, options.keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: JWT_ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(now()),
      }));
    } catch (error) {
      const reason = describeJoseError(error);
      if (reason === undefined) {
        // Not JWT-shaped at all (jose's decode errors) is a deny; key fetch faults are not.
        if ((error as { code?: string }).code?.startsWith('ERR_JW') && !(error as { code: string }).code.startsWith('ERR_JWKS')) {
          return deny('the token is not a valid JWT');
        }
        throw error;
      }
      return deny(reason);
    }
    try {
      checkTokenTimes(payload, Math.floor(now() / 1000));
      // Checked on the claims as signed: a numeric org_id is refused here, before API Gateway
      // would turn every claim into a string.
      const principal = principalFromClaims(payload);
      return { allow: true, context: { orgId: principal.orgId, role: principal.role, sub: principal.userId, kind: 'user' } };
    } catch (error) {
      if (error instanceof UnauthorizedError) return deny(error.message.replace(/^The token/, 'the token'));
      throw error;
    }
  };
}
