/** Who is calling: the organization and role come from the token's claims, never from input. */
import { ForbiddenError, UnauthorizedError } from './errors';
import type { Actor } from './actor';

export const ROLES = ['viewer', 'member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * An automation acting: set by the automation runner alone, never from a token, so no caller
 * can make its writes look automated or slip past the loop guards. `chainId` names the user
 * write that started the chain of automation runs; `depth` counts the generations since.
 */
export interface AutomationActor {
  automationId: string;
  depth: number;
  chainId: string;
}

export interface Principal {
  orgId: string;
  role: Role;
  /** The token subject: a user id (or, for an API token, the token id), recorded as createdBy. */
  userId: string;
  automation?: AutomationActor;
  /** Set when the caller authenticated with an API token rather than as a user. */
  tokenId?: string;
}

/**
 * What the authorizer hands every handler (requestContext.authorizer.lambda), in AWS and locally:
 * the caller, already checked. Strings only, as API Gateway passes them on.
 */
export interface AuthorizerContext {
  orgId: string;
  role: Role;
  sub: string;
  /** `user` (a JWT) or `token` (an API token). */
  kind: 'user' | 'token';
  tokenId?: string;
}

/** Clocks disagree a little; a token from further in the future than this is refused. */
export const CLOCK_SKEW_SECONDS = 60;

/** Subjects in this namespace name automations in createdBy; a token may not claim one. */
export const RESERVED_SUBJECT_PREFIX = 'automation:';

/** Organization ids become part of every key, so they are restricted to a safe alphabet. */
const ORG_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const isOrgId = (value: string) => ORG_ID.test(value);

/** Claim names: plain ones from our dev issuer, custom: ones from Cognito ID tokens. */
export function principalFromClaims(claims: Record<string, unknown> | undefined): Principal {
  if (!claims) throw new UnauthorizedError();
  const orgId = claims['org_id'] ?? claims['custom:org_id'];
  const role = claims['role'] ?? claims['custom:role'];
  const userId = claims['sub'];
  if (typeof orgId !== 'string' || !ORG_ID.test(orgId)) {
    throw new UnauthorizedError('The token has no valid org_id claim');
  }
  if (typeof role !== 'string' || !ROLES.includes(role as Role)) {
    throw new UnauthorizedError(`The token's role claim must be one of ${ROLES.join(', ')}`);
  }
  if (typeof userId !== 'string' || userId.length === 0) throw new UnauthorizedError('The token has no sub claim');
  if (userId.startsWith(RESERVED_SUBJECT_PREFIX)) {
    throw new UnauthorizedError(`The token's sub claim may not start with "${RESERVED_SUBJECT_PREFIX}": that namespace is reserved for automations`);
  }
  return { orgId, role: role as Role, userId };
}

/**
 * The time claims a JWT verifier may not check by itself: `iat` and `nbf`, when present, must be
 * numbers and not lie in the future beyond the clock skew (a token "issued" tomorrow is forged or
 * from a broken clock, and would outlive its stated lifetime).
 */
export function checkTokenTimes(claims: Record<string, unknown>, nowSeconds: number): void {
  for (const claim of ['iat', 'nbf'] as const) {
    const value = claims[claim];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new UnauthorizedError(`The token's ${claim} claim is not a number`);
    if (value > nowSeconds + CLOCK_SKEW_SECONDS) throw new UnauthorizedError(`The token's ${claim} claim lies in the future`);
  }
}

/** The principal from the authorizer's context; checked again, since it becomes part of every key. */
export function principalFromAuthorizer(context: Record<string, unknown> | undefined): Principal {
  if (!context) throw new UnauthorizedError();
  const principal = principalFromClaims({ org_id: context['orgId'], role: context['role'], sub: context['sub'] });
  const tokenId = context['tokenId'];
  return typeof tokenId === 'string' && tokenId !== '' ? { ...principal, tokenId } : principal;
}

export function requireRole(principal: Principal, needed: Role): void {
  if (ROLES.indexOf(principal.role) < ROLES.indexOf(needed)) {
    throw new ForbiddenError(`This action needs the ${needed} role; the token has ${principal.role}`, {
      requiredRole: needed,
    });
  }
}

/** Who a verified caller's writes are recorded as: the API token, or the user. */
export function actorOfPrincipal(principal: Principal): Actor {
  if (principal.automation) return { type: 'automation', id: principal.automation.automationId };
  return principal.tokenId ? { type: 'token', id: principal.tokenId } : { type: 'user', id: principal.userId };
}
