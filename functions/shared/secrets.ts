/**
 * Webhook signing secrets at rest: envelope encryption. A 256-bit data key seals each secret with
 * AES-256-GCM (node:crypto); the data key itself is wrapped by a key-encryption key:
 *
 * - in AWS, a KMS key (SECRETS_KMS_KEY_ID): GenerateDataKey to seal, Decrypt to open, both with
 *   the encryption context { purpose, orgId }: KMS refuses to unwrap a data key for another org;
 * - locally, a 256-bit key in a file (SECRETS_LOCAL_KEY_FILE, created on first use, e.g. under
 *   the data directory) or given directly (SECRETS_LOCAL_KEY, base64: a per-run key).
 *
 * Why envelope and not KMS Encrypt per secret: the signer decrypts on every delivery. With a data
 * key cached per organization and container (reused for at most DATA_KEY_TTL_MS), KMS sees one
 * GenerateDataKey per org per container and one Decrypt per distinct wrapped key, not one call
 * per delivery (latency, cost, and KMS's account-wide request quota shared with everything else).
 * Encrypt/Decrypt would also have worked (4 KB limit is plenty); it needs a cache of plaintext
 * secrets instead, which is the same exposure with less control.
 *
 * The GCM additional data binds a ciphertext to its organization and webhook: moved to another
 * item (or another org, where KMS refuses the data key anyway), it does not open.
 *
 * Stored form: `cfenc1.<kms|local>.<wrapped data key>.<iv>.<ciphertext>.<tag>` (base64url parts).
 * Values that do not start with `cfenc1.` are secrets written before encryption: decryptSecret
 * returns them as they are, and the signer seals them in place (openWebhookSecrets).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { WebhookStore } from '../../domain/webhooks/store';
import type { Webhook } from '../../domain/webhooks/model';
import { secretHintOf, WEBHOOK_SECRET_PURPOSE, type SecretSealer } from '../../domain/webhooks/webhooks';
import { logger } from './logger';
import { traced } from './tracer';

/** Whose secret a ciphertext holds: part of the authenticated data. */
export interface SecretScope {
  orgId: string;
  webhookId: string;
}

const FORMAT = 'cfenc1';
const PURPOSE = WEBHOOK_SECRET_PURPOSE;
/** A data key seals new secrets for this long, then a fresh one is generated. */
const DATA_KEY_TTL_MS = 5 * 60_000;
const MAX_UNWRAPPED_KEYS = 1_000;

interface KeyProvider {
  name: 'kms' | 'local';
  generate(orgId: string): Promise<{ plaintext: Buffer; wrapped: Buffer }>;
  unwrap(orgId: string, wrapped: Buffer): Promise<Buffer>;
}

const context = (orgId: string) => ({ purpose: PURPOSE, orgId });

/**
 * The KMS SDK is imported on the first seal or open, not with the module: most invocations of the
 * functions that may sign (the webhooks area's GETs) never touch a secret, and loading a second
 * SDK client at start-up costs them cold-start CPU.
 */
let kmsSdk: Promise<{ sdk: typeof import('@aws-sdk/client-kms'); client: KMSClient }> | undefined;
const kms = () => (kmsSdk ??= import('@aws-sdk/client-kms').then((sdk) => ({ sdk, client: traced(new sdk.KMSClient({})) })));

function kmsProvider(keyId: string): KeyProvider {
  return {
    name: 'kms',
    async generate(orgId) {
      const { sdk, client } = await kms();
      const out = await client.send(new sdk.GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context(orgId) }));
      if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
      return { plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob) };
    },
    async unwrap(orgId, wrapped) {
      const { sdk, client } = await kms();
      const out = await client.send(new sdk.DecryptCommand({ KeyId: keyId, CiphertextBlob: wrapped, EncryptionContext: context(orgId) }));
      if (!out.Plaintext) throw new Error('KMS Decrypt returned no key');
      return Buffer.from(out.Plaintext);
    },
  };
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: string) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

function gcmOpen(key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** The local stand-in for KMS: the same wrapping, with the org in the authenticated data. */
function localProvider(master: Buffer): KeyProvider {
  if (master.length !== 32) throw new Error('The local secrets key must be 32 bytes (base64 of 32 random bytes)');
  const aad = (orgId: string) => `${PURPOSE}:${orgId}`;
  return {
    name: 'local',
    async generate(orgId) {
      const plaintext = randomBytes(32);
      const { iv, ciphertext, tag } = gcmSeal(master, plaintext, aad(orgId));
      return { plaintext, wrapped: Buffer.concat([iv, tag, ciphertext]) };
    },
    async unwrap(orgId, wrapped) {
      return gcmOpen(master, wrapped.subarray(0, 12), wrapped.subarray(28), wrapped.subarray(12, 28), aad(orgId));
    },
  };
}

/** Reads the key file, or creates it (owner-only) with a fresh key. */
export function localKeyFromFile(path: string): Buffer {
  try {
    return Buffer.from((JSON.parse(readFileSync(path, 'utf8')) as { key: string }).key, 'base64');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Cannot read the secrets key file ${path}: ${(error as Error).message}`);
  }
  const key = randomBytes(32);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    path,
    `${JSON.stringify({ key: key.toString('base64'), note: 'Encrypts webhook secrets of the local runtime. Losing it makes them unreadable.' })}\n`,
    { mode: 0o600, flag: 'wx' },
  );
  chmodSync(path, 0o600);
  return key;
}

let provider: KeyProvider | undefined;

/** Chosen once per container from the environment; nothing is configured: a clear error on first use. */
function keyProvider(): KeyProvider {
  if (provider) return provider;
  const kmsKeyId = process.env['SECRETS_KMS_KEY_ID'];
  const keyFile = process.env['SECRETS_LOCAL_KEY_FILE'];
  const key = process.env['SECRETS_LOCAL_KEY'];
  if (kmsKeyId) provider = kmsProvider(kmsKeyId);
  else if (keyFile) provider = localProvider(localKeyFromFile(keyFile));
  else if (key) provider = localProvider(Buffer.from(key, 'base64'));
  else throw new Error('No key for webhook secrets: set SECRETS_KMS_KEY_ID (AWS) or SECRETS_LOCAL_KEY_FILE / SECRETS_LOCAL_KEY (local)');
  return provider;
}

const configured = () => !!(provider || process.env['SECRETS_KMS_KEY_ID'] || process.env['SECRETS_LOCAL_KEY_FILE'] || process.env['SECRETS_LOCAL_KEY']);
let warned = false;

interface DataKey {
  plaintext: Buffer;
  wrapped: Buffer;
  until: number;
}

const sealingKeys = new Map<string, Promise<DataKey>>();
const unwrappedKeys = new Map<string, Promise<Buffer>>();

function sealingKey(orgId: string): Promise<DataKey> {
  const cached = sealingKeys.get(orgId);
  if (cached !== undefined) {
    // A failed generation is not cached; an expired key is replaced.
    return cached.then((k): DataKey | Promise<DataKey> => {
      if (k.until > Date.now()) return k;
      sealingKeys.delete(orgId);
      return sealingKey(orgId);
    });
  }
  const created = keyProvider()
    .generate(orgId)
    .then((k) => ({ ...k, until: Date.now() + DATA_KEY_TTL_MS }));
  sealingKeys.set(orgId, created);
  created.catch(() => sealingKeys.delete(orgId));
  return created;
}

function unwrapped(orgId: string, wrapped: string): Promise<Buffer> {
  const cacheKey = `${orgId}|${wrapped}`;
  let key = unwrappedKeys.get(cacheKey);
  if (!key) {
    if (unwrappedKeys.size >= MAX_UNWRAPPED_KEYS) unwrappedKeys.delete(unwrappedKeys.keys().next().value!);
    key = keyProvider().unwrap(orgId, Buffer.from(wrapped, 'base64url'));
    unwrappedKeys.set(cacheKey, key);
    key.catch(() => unwrappedKeys.delete(cacheKey));
  }
  return key;
}

const aadOf = ({ orgId, webhookId }: SecretScope) => `${PURPOSE}:${orgId}:${webhookId}`;

export const isSealed = (value: string) => value.startsWith(`${FORMAT}.`);

export async function encryptSecret(plaintext: string, scope: SecretScope): Promise<string> {
  if (!configured()) {
    // Until the stack gives the function a key (SECRETS_KMS_KEY_ID), secrets stay as before:
    // refusing would break webhook creation; the signer seals them once a key is configured.
    if (!warned) logger.warn('No key for webhook secrets (SECRETS_KMS_KEY_ID): stored unencrypted');
    warned = true;
    return plaintext;
  }
  const dataKey = await sealingKey(scope.orgId);
  const { iv, ciphertext, tag } = gcmSeal(dataKey.plaintext, Buffer.from(plaintext, 'utf8'), aadOf(scope));
  return [FORMAT, keyProvider().name, dataKey.wrapped, iv, ciphertext, tag].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

export class SecretDecryptionError extends Error {
  override name = 'SecretDecryptionError';
}

/** The plaintext of a stored secret; a value from before encryption is returned as it is. */
export async function decryptSecret(stored: string, scope: SecretScope): Promise<string> {
  if (!isSealed(stored)) return stored;
  const parts = stored.split('.');
  if (parts.length !== 6) throw new SecretDecryptionError(`Webhook ${scope.webhookId}: malformed encrypted secret`);
  const [, providerName, wrapped, iv, ciphertext, tag] = parts as [string, string, string, string, string, string];
  if (providerName !== keyProvider().name) {
    throw new SecretDecryptionError(
      `Webhook ${scope.webhookId}: its secret was encrypted with the ${providerName} key, this function has the ${keyProvider().name} key`,
    );
  }
  try {
    const key = await unwrapped(scope.orgId, wrapped);
    return gcmOpen(key, Buffer.from(iv, 'base64url'), Buffer.from(ciphertext, 'base64url'), Buffer.from(tag, 'base64url'), aadOf(scope)).toString('utf8');
  } catch (error) {
    throw new SecretDecryptionError(`Webhook ${scope.webhookId}: the secret does not decrypt for organization ${scope.orgId} (${(error as Error).message})`);
  }
}

type SecretFields = Pick<Webhook, 'secret' | 'previousSecret'>;

/**
 * The webhook with its secrets in plaintext, for signing. Secrets stored before encryption are
 * sealed in place on the way (migrate on read), on the condition that they are still the ones read.
 */
export async function openWebhookSecrets<W extends Webhook>(orgId: string, hook: W, store: Pick<WebhookStore, 'sealSecrets'>): Promise<W> {
  const scope = { orgId, webhookId: hook.id };
  const legacy = configured() && (!isSealed(hook.secret) || (hook.previousSecret !== undefined && !isSealed(hook.previousSecret)));
  const opened: SecretFields = {
    secret: await decryptSecret(hook.secret, scope),
    ...(hook.previousSecret !== undefined ? { previousSecret: await decryptSecret(hook.previousSecret, scope) } : {}),
  };
  if (legacy) {
    try {
      const sealed: SecretFields = {
        secret: isSealed(hook.secret) ? hook.secret : await encryptSecret(hook.secret, scope),
        ...(hook.previousSecret !== undefined
          ? { previousSecret: isSealed(hook.previousSecret) ? hook.previousSecret : await encryptSecret(hook.previousSecret, scope) }
          : {}),
      };
      await store.sealSecrets(orgId, hook.id, { secret: hook.secret, previousSecret: hook.previousSecret }, sealed, secretHintOf(opened.secret));
    } catch (error) {
      // Signing goes on with the plaintext read; the next delivery tries the migration again.
      logger.warn('Could not encrypt a legacy webhook secret in place', { webhookId: hook.id, error: error as Error });
    }
  }
  return { ...hook, ...opened };
}

/** The sealer the webhook use cases are given. */
export const secretSealer: SecretSealer = { seal: encryptSecret };

/** For tests: forget the chosen key and every cached data key. */
export function resetSecretsForTests() {
  provider = undefined;
  sealingKeys.clear();
  unwrappedKeys.clear();
}
