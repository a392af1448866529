/**
 * API tokens: organization credentials for machines (ERP jobs, scripts, integrations). An admin
 * creates one with a role and an optional expiry; the secret is shown once and stored only as a
 * hash; every use is noted (at most once a minute); revoking deletes it, and the next request
 * that presents it is refused.
 *
 * Why SHA-256 and not a slow password hash (bcrypt, argon2): the secret is 256 random bits, not
 * something a person chose, so there is no dictionary to try and 2^256 hashes to search — a
 * slow hash buys nothing. A fast, unsalted hash is also what makes the hash a lookup key: the
 * authorizer finds the token with one GetItem, without knowing its organization.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ROLES, type Principal, type Role } from '../kernel/auth';
import { nowIso, type UseCaseContext } from '../kernel/context';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../kernel/errors';
import { newId } from '../kernel/ids';

// ——— model ———

export const API_TOKEN_PREFIX = 'cft_';
/** `cft_` + base64url of 32 random bytes (256 bits). */
export const API_TOKEN_PATTERN = /^cft_[A-Za-z0-9_-]{43}$/;

export const API_TOKEN_LIMITS = {
  perOrganization: 100,
  /** lastUsedAt is written at most this often per token: a busy token costs one write a minute. */
  lastUsedResolutionMs: 60_000,
} as const;

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  /** The first characters of the secret, to tell tokens apart in a list. */
  hint: string;
  expiresAt?: string;
  lastUsedAt?: string;
  createdBy: string;
  createdAt: string;
}

export interface StoredApiToken extends ApiToken {
  secretHash: string;
}

/** What the authorizer reads for a presented secret: one item, found by the secret's hash. */
export interface ApiTokenLookup {
  orgId: string;
  tokenId: string;
  role: Role;
  expiresAt?: string;
}

export interface ApiTokenStore {
  /** Writes the token and its lookup item unless the organization has `max` already. */
  create(orgId: string, token: StoredApiToken, max: number): Promise<'ok' | 'limit'>;
  list(orgId: string): Promise<StoredApiToken[]>;
  /** Deletes the token and its lookup item; false when it did not exist. */
  delete(orgId: string, tokenId: string): Promise<boolean>;
  /** Strongly consistent: a revoked token is not found a moment later. */
  lookup(secretHash: string): Promise<ApiTokenLookup | null>;
  /** Sets lastUsedAt = at unless it is already later than `unlessAfter` (or the token is gone). */
  touch(orgId: string, tokenId: string, at: string, unlessAfter: string): Promise<void>;
}

export const newApiTokenSecret = () => `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

export const hashApiTokenSecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

/** An Authorization credential that is meant as an API token (rather than a JWT). */
export const isApiTokenCredential = (credential: string) => credential.startsWith(API_TOKEN_PREFIX);

const publicView = ({ secretHash: _hash, ...token }: StoredApiToken): ApiToken => token;

// ——— use cases (admins, signed in as users) ———

export interface TokenContext extends UseCaseContext {
  tokens: ApiTokenStore;
}

/** A leaked token must not be able to mint itself successors, nor hide by revoking others. */
function requireUser(principal: Principal) {
  if (principal.tokenId) {
    throw new ForbiddenError('API tokens cannot create, list or revoke API tokens; sign in as an admin user');
  }
}

export interface CreateApiTokenInput {
  name: string;
  role: Role;
  expiresAt?: string;
}

export async function createApiToken(ctx: TokenContext, input: CreateApiTokenInput): Promise<ApiToken & { secret: string }> {
  requireUser(ctx.principal);
  const now = nowIso(ctx);
  let expiresAt: string | undefined;
  if (input.expiresAt !== undefined) {
    const at = Date.parse(input.expiresAt);
    if (Number.isNaN(at))
      throw new ValidationError('expiresAt is not a date-time', [{ path: 'expiresAt', message: 'not a date-time', code: 'validation.invalidDate' }]);
    if (at <= Date.parse(now)) {
      throw new ValidationError('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future', code: 'validation.expiryInPast' }]);
    }
    expiresAt = new Date(at).toISOString();
  }
  if (!ROLES.includes(input.role)) throw new ValidationError(`role must be one of ${ROLES.join(', ')}`);
  const secret = newApiTokenSecret();
  const token: StoredApiToken = {
    id: newId('token'),
    name: input.name,
    role: input.role,
    hint: secret.slice(0, API_TOKEN_PREFIX.length + 4),
    ...(expiresAt ? { expiresAt } : {}),
    createdBy: ctx.principal.userId,
    createdAt: now,
    secretHash: hashApiTokenSecret(secret),
  };
  const outcome = await ctx.tokens.create(ctx.principal.orgId, token, API_TOKEN_LIMITS.perOrganization);
  if (outcome === 'limit') {
    throw new ConflictError(
      `The organization has ${API_TOKEN_LIMITS.perOrganization} API tokens, the most it may have; revoke one first`,
      'token.limitReached',
      {
        limit: API_TOKEN_LIMITS.perOrganization,
      },
    );
  }
  return { ...publicView(token), secret };
}

export async function listApiTokens(ctx: TokenContext): Promise<{ items: ApiToken[]; nextCursor: null }> {
  requireUser(ctx.principal);
  // Bounded by the per-organization limit: one page always holds them all.
  const tokens = await ctx.tokens.list(ctx.principal.orgId);
  return { items: tokens.map(publicView), nextCursor: null };
}

export async function revokeApiToken(ctx: TokenContext, tokenId: string): Promise<void> {
  requireUser(ctx.principal);
  if (!(await ctx.tokens.delete(ctx.principal.orgId, tokenId))) throw new NotFoundError('API token', tokenId);
}

// ——— authentication (the authorizer) ———

export type TokenAuthentication = { ok: true; orgId: string; role: Role; tokenId: string } | { ok: false; reason: string };

/**
 * Checks a presented secret: well-formed, known (not revoked), not expired. Notes its use at
 * most once a minute per token and container (and, across containers, the conditional write
 * keeps it to about one a minute); a failed note never refuses the request.
 */
export class ApiTokenAuthenticator {
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly tokens: ApiTokenStore,
    private readonly now: () => number = Date.now,
    private readonly onTouchError: (error: unknown) => void = () => undefined,
  ) {}

  async authenticate(secret: string): Promise<TokenAuthentication> {
    // Malformed secrets cost no read.
    if (!API_TOKEN_PATTERN.test(secret)) return { ok: false, reason: 'the API token is malformed' };
    const found = await this.tokens.lookup(hashApiTokenSecret(secret));
    if (!found) return { ok: false, reason: 'the API token is unknown or revoked' };
    const now = this.now();
    if (found.expiresAt !== undefined && Date.parse(found.expiresAt) <= now) return { ok: false, reason: 'the API token has expired' };
    await this.touch(found, now);
    return { ok: true, orgId: found.orgId, role: found.role, tokenId: found.tokenId };
  }

  private async touch(found: ApiTokenLookup, now: number) {
    const resolution = API_TOKEN_LIMITS.lastUsedResolutionMs;
    const previous = this.lastTouched.get(found.tokenId);
    if (previous !== undefined && now - previous < resolution) return;
    if (this.lastTouched.size >= 10_000) this.lastTouched.clear();
    this.lastTouched.set(found.tokenId, now);
    try {
      await this.tokens.touch(found.orgId, found.tokenId, new Date(now).toISOString(), new Date(now - resolution).toISOString());
    } catch (error) {
      this.onTouchError(error);
    }
  }
}
