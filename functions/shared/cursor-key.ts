/**
 * Loads the key pagination cursors are signed with, once per container, from configuration:
 * CURSOR_SIGNING_KEY (base64 of at least 32 random bytes: the local runtime and the tests
 * generate one), or CURSOR_SIGNING_KEY_SECRET_ARN, a Secrets Manager secret holding the same
 * (AWS). Without either, listing fails with a 500 that says which setting is missing.
 */
import { hasCursorKey, setCursorKey } from '../../domain/kernel/cursor';

export const CURSOR_KEY_ENV = 'CURSOR_SIGNING_KEY';
export const CURSOR_KEY_SECRET_ENV = 'CURSOR_SIGNING_KEY_SECRET_ARN';

let loading: Promise<void> | undefined;

async function fromSecret(secretId: string): Promise<Buffer> {
  // Imported on demand: only deployed functions configured with a secret need the client.
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  try {
    const secret = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (secret.SecretString) return Buffer.from(secret.SecretString.trim(), 'base64');
    if (secret.SecretBinary) return Buffer.from(secret.SecretBinary);
    throw new Error(`Secret ${secretId} is empty`);
  } finally {
    client.destroy();
  }
}

export function loadCursorKey(): Promise<void> {
  if (hasCursorKey()) return Promise.resolve();
  loading ??= (async () => {
    const direct = process.env[CURSOR_KEY_ENV];
    const secretId = process.env[CURSOR_KEY_SECRET_ENV];
    if (direct) setCursorKey(Buffer.from(direct, 'base64'));
    else if (secretId) setCursorKey(await fromSecret(secretId));
    // Neither: encodeCursor/decodeCursor fail with a message naming both settings.
  })().catch((error: unknown) => {
    loading = undefined; // the next request tries again (a throttled or cold Secrets Manager)
    throw error;
  });
  return loading;
}
