/**
 * The KMS key that wraps the data keys of webhook signing secrets (functions/shared/secrets.ts:
 * envelope encryption, encryption context { purpose, orgId }), and the only two ways a function
 * may use it:
 *
 * - `seal`: kms:GenerateDataKey — the webhooks API area encrypts a new or rotated secret; it
 *   never needs to read one back (reads show a stored hint).
 * - `sign`: kms:GenerateDataKey and kms:Decrypt — the function that signs deliveries opens the
 *   secrets, and seals in place a secret stored in plaintext before encryption. The delivery
 *   consumer is granted this by StreamsStack.grantWebhookSecrets (same actions and condition).
 *
 * Both are conditioned on the encryption context's purpose, so the grant opens nothing else
 * this key could ever wrap. Every other function has no grant: a role that can read the table
 * reads ciphertext. test/infra/secrets-key.test.ts checks that exactly the functions whose
 * bundles include functions/shared/secrets.ts hold a grant, and only signers may decrypt.
 */
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { HouseFunction } from './house-function';

import { WEBHOOK_SECRET_PURPOSE } from '../../domain/webhooks/webhooks';

export { WEBHOOK_SECRET_PURPOSE };
/** The variable functions/shared/secrets.ts reads to use KMS instead of a local key. */
export const SECRETS_KEY_ENV = 'SECRETS_KMS_KEY_ID';

export type WebhookSecretUse = 'seal' | 'sign';

export const SECRET_ACTIONS: Record<WebhookSecretUse, readonly string[]> = {
  seal: ['kms:GenerateDataKey'],
  sign: ['kms:Decrypt', 'kms:GenerateDataKey'],
};

export function grantWebhookSecrets(fn: HouseFunction, key: IKey, use: WebhookSecretUse): void {
  fn.function.addEnvironment(SECRETS_KEY_ENV, key.keyArn);
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...SECRET_ACTIONS[use]],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:EncryptionContext:purpose': WEBHOOK_SECRET_PURPOSE } },
    }),
  );
}
