/** Who is calling: the organization and role come from the token's claims, never from input. */
import { ForbiddenError, UnauthorizedError } from './errors';

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
  /** The token subject: a user id, recorded as createdBy. */
  userId: string;
  automation?: AutomationActor;
}

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

export function requireRole(principal: Principal, needed: Role): void {
  if (ROLES.indexOf(principal.role) < ROLES.indexOf(needed)) {
    throw new ForbiddenError(`This action needs the ${needed} role; the token has ${principal.role}`, {
      requiredRole: needed,
    });
  }
}
