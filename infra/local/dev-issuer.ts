/**
 * The local stand-in for the identity provider: an ES256 key pair kept as a JWK on disk (so a
 * token printed by `npm run token` works against a running `npm start`), tokens carrying the
 * claims the handlers read (org_id, role, sub), and verification that checks what API
 * Gateway's JWT authorizer checks: signature with a key of the JWKS, alg, iss, aud, exp, nbf.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { Role } from '../../domain/kernel/auth';

/** Constant, not port-dependent: a token keeps working when the runtime moves to another port. */
export const DEV_ISSUER = 'https://cardflow.local/dev-issuer';
export const DEV_AUDIENCE = 'cardflow-local';
export const DEV_ALG = 'ES256';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `.cardflow/` is gitignored. CARDFLOW_DEV_KEY_FILE overrides the location. */
export const DEFAULT_KEY_FILE = resolve(REPO_ROOT, '.cardflow/dev-signing-key.json');

export interface MintOptions {
  orgId: string;
  role: Role;
  /** The user id; defaults to `dev-<role>`. */
  sub?: string;
  /** A jose time span such as '12h', '15m' or '-1h' (already expired); default '12h'. */
  expiresIn?: string;
}

/** Everything API Gateway verified, as the authorizer saw it (values not yet stringified). */
export type VerifiedClaims = JWTPayload & { org_id?: unknown; role?: unknown };

export interface DevIssuer {
  issuer: string;
  audience: string;
  keyFile: string;
  /** The public keys, as served at /.well-known/jwks.json. */
  jwks: JSONWebKeySet;
  mintToken(options: MintOptions): Promise<string>;
  /**
   * Signs an arbitrary payload with the dev key (tests use it for tokens the authorizer must
   * refuse: another audience, another issuer). iss and aud default to the dev issuer's own.
   */
  sign(payload: JWTPayload, options?: { expiresIn?: string; issuer?: string; audience?: string }): Promise<string>;
  /** Throws when the token would not pass API Gateway's JWT authorizer. */
  verify(token: string): Promise<VerifiedClaims>;
}

interface StoredKey {
  alg: typeof DEV_ALG;
  kid: string;
  privateJwk: JWK;
  createdAt: string;
}

async function createKeyFile(keyFile: string): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(DEV_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(privateJwk);
  const stored: StoredKey = { alg: DEV_ALG, kid, privateJwk: { ...privateJwk, kid, alg: DEV_ALG, use: 'sig' }, createdAt: new Date().toISOString() };
  await mkdir(dirname(keyFile), { recursive: true });
  // Write then rename, and never replace a key another process created meanwhile: two
  // processes starting at once (npm start and npm run token) end up with the same key.
  const temporary = `${keyFile}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  try {
    await writeFile(keyFile, '', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    await rm(temporary, { force: true });
    return readKeyFile(keyFile, 20);
  }
  await rename(temporary, keyFile);
  return stored;
}

async function readKeyFile(keyFile: string, retries = 0): Promise<StoredKey> {
  const text = await readFile(keyFile, 'utf8');
  if (text.trim() === '' && retries > 0) {
    // Another process claimed the file and is about to rename its key into place.
    await new Promise((r) => setTimeout(r, 25));
    return readKeyFile(keyFile, retries - 1);
  }
  let stored: StoredKey;
  try {
    stored = JSON.parse(text) as StoredKey;
  } catch {
    throw new Error(`${keyFile} is not a dev signing key (invalid JSON); delete it and a new one is created.`);
  }
  if (stored?.alg !== DEV_ALG || typeof stored.privateJwk?.d !== 'string' || typeof stored.kid !== 'string') {
    throw new Error(`${keyFile} is not an ${DEV_ALG} dev signing key; delete it and a new one is created.`);
  }
  return stored;
}

async function loadOrCreateKey(keyFile: string): Promise<StoredKey> {
  try {
    return await readKeyFile(keyFile, 20);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return createKeyFile(keyFile);
  }
}

/** Loads the persisted dev key (creating it on first use) and returns the issuer built on it. */
export async function createDevIssuer(options: { keyFile?: string } = {}): Promise<DevIssuer> {
  const keyFile = resolve(options.keyFile ?? process.env['CARDFLOW_DEV_KEY_FILE'] ?? DEFAULT_KEY_FILE);
  const stored = await loadOrCreateKey(keyFile);
  const privateKey = (await importJWK(stored.privateJwk, DEV_ALG)) as CryptoKey;
  const { d: _private, ...publicJwk } = stored.privateJwk;
  const jwks: JSONWebKeySet = { keys: [{ ...publicJwk, kid: stored.kid, alg: DEV_ALG, use: 'sig' }] };
  const keySet = createLocalJWKSet(jwks);

  const sign: DevIssuer['sign'] = (payload, signOptions = {}) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: DEV_ALG, kid: stored.kid, typ: 'JWT' })
      .setIssuer(signOptions.issuer ?? DEV_ISSUER)
      .setAudience(signOptions.audience ?? DEV_AUDIENCE)
      // A payload's own iat is kept (tests sign tokens "issued" in the future that must be refused).
      .setIssuedAt(typeof payload.iat === 'number' ? payload.iat : undefined)
      .setJti(randomUUID())
      .setExpirationTime(signOptions.expiresIn ?? '12h')
      .sign(privateKey);

  return {
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    keyFile,
    jwks,
    sign,
    mintToken: ({ orgId, role, sub, expiresIn = '12h' }) => sign({ org_id: orgId, role, sub: sub ?? `dev-${role}` }, { expiresIn }),
    async verify(token) {
      const { payload } = await jwtVerify(token, keySet, {
        algorithms: [DEV_ALG],
        issuer: DEV_ISSUER,
        audience: DEV_AUDIENCE,
        requiredClaims: ['exp'],
      });
      return payload;
    },
  };
}
