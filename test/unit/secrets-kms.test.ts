/**
 * The KMS side of secret encryption, against a mocked KMS (there is no local KMS): one data key
 * per organization and container, the organization in the encryption context, Decrypt once per
 * wrapped key.
 */
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const kms = mockClient(KMSClient);
const dataKeys = new Map<string, Buffer>();

beforeEach(() => {
  vi.stubEnv('SECRETS_KMS_KEY_ID', 'alias/cardflow-secrets');
  kms.reset();
  kms.on(GenerateDataKeyCommand).callsFake((input: { EncryptionContext: Record<string, string> }) => {
    const plaintext = randomBytes(32);
    const wrapped = Buffer.from(`wrapped:${input.EncryptionContext['orgId']}:${dataKeys.size}`);
    dataKeys.set(wrapped.toString(), plaintext);
    return { Plaintext: plaintext, CiphertextBlob: wrapped };
  });
  kms.on(DecryptCommand).callsFake((input: { CiphertextBlob: Uint8Array; EncryptionContext: Record<string, string> }) => {
    const wrapped = Buffer.from(input.CiphertextBlob).toString();
    // KMS refuses a data key under another encryption context.
    if (!wrapped.startsWith(`wrapped:${input.EncryptionContext['orgId']}:`))
      throw Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' });
    return { Plaintext: dataKeys.get(wrapped)! };
  });
});
afterEach(() => vi.unstubAllEnvs());

describe('webhook secrets with KMS', () => {
  it('generates one data key per organization, with the org in the context, and decrypts each wrapped key once', async () => {
    const secrets = await import('../../functions/shared/secrets');
    secrets.resetSecretsForTests();
    const a1 = await secrets.encryptSecret('whsec_one', { orgId: 'org_a', webhookId: 'webhook_1' });
    const a2 = await secrets.encryptSecret('whsec_two', { orgId: 'org_a', webhookId: 'webhook_2' });
    const b1 = await secrets.encryptSecret('whsec_three', { orgId: 'org_b', webhookId: 'webhook_3' });
    expect(a1).toMatch(/^cfenc1\.kms\./);
    const generated = kms.commandCalls(GenerateDataKeyCommand).map((c) => c.args[0].input);
    expect(generated).toEqual([
      { KeyId: 'alias/cardflow-secrets', KeySpec: 'AES_256', EncryptionContext: { purpose: 'cardflow:webhook-secret', orgId: 'org_a' } },
      { KeyId: 'alias/cardflow-secrets', KeySpec: 'AES_256', EncryptionContext: { purpose: 'cardflow:webhook-secret', orgId: 'org_b' } },
    ]);

    secrets.resetSecretsForTests(); // a new container: nothing cached
    expect(await secrets.decryptSecret(a1, { orgId: 'org_a', webhookId: 'webhook_1' })).toBe('whsec_one');
    expect(await secrets.decryptSecret(a2, { orgId: 'org_a', webhookId: 'webhook_2' })).toBe('whsec_two');
    expect(await secrets.decryptSecret(b1, { orgId: 'org_b', webhookId: 'webhook_3' })).toBe('whsec_three');
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(2);
    await expect(secrets.decryptSecret(b1, { orgId: 'org_a', webhookId: 'webhook_3' })).rejects.toThrow(/does not decrypt for organization org_a/);
  });

  it('a plaintext secret from before encryption is returned as it is, with no KMS call', async () => {
    const secrets = await import('../../functions/shared/secrets');
    secrets.resetSecretsForTests();
    expect(await secrets.decryptSecret('whsec_legacy', { orgId: 'org_a', webhookId: 'webhook_1' })).toBe('whsec_legacy');
    expect(kms.calls()).toHaveLength(0);
  });
});
