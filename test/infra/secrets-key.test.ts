/**
 * Webhook secrets at rest in AWS: a customer managed KMS key with rotation, kept with the data,
 * whose use is granted only to the functions that seal (GenerateDataKey) or sign (Decrypt too)
 * — found by bundling every function's entry and seeing whether functions/shared/secrets.ts
 * ends up in it — each with SECRETS_KMS_KEY_ID, the variable that switches the code to KMS.
 */
import { join } from 'node:path';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HouseFunction, REPO_ROOT } from '../../infra/stacks/house-function';
import { SECRET_ACTIONS, SECRETS_KEY_ENV, WEBHOOK_SECRET_PURPOSE } from '../../infra/stacks/secrets-key';
import { actionsOf, allStatements as allStatementsOf, buildStacks, onlyResource, resourcesOf, statementsForRole } from './synth';

const stacks = buildStacks();
const data = Template.fromStack(stacks.data);
const [keyId, key] = onlyResource(data, 'AWS::KMS::Key');

/** Does the bundle of this entry keep any code of functions/shared/secrets.ts? */
async function usesSecrets(entry: string): Promise<boolean> {
  const result = await build({
    entryPoints: [join(REPO_ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: ['@aws-sdk/*'],
    outfile: 'index.mjs',
    absWorkingDir: REPO_ROOT,
  });
  return Object.values(result.metafile.outputs).some((o) => (o.inputs['functions/shared/secrets.ts']?.bytesInOutput ?? 0) > 0);
}

describe('the secrets key', () => {
  it('is a customer managed symmetric key with yearly rotation, in the data stack, retained', () => {
    expect(key.Properties).toMatchObject({ EnableKeyRotation: true });
    expect(key.Properties!.KeySpec ?? 'SYMMETRIC_DEFAULT').toBe('SYMMETRIC_DEFAULT');
    expect(key.DeletionPolicy).toBe('Retain');
  });
});

describe('who may use it', () => {
  const functions = [stacks.api, stacks.streams].flatMap((stack) =>
    stack.node
      .findAll()
      .filter((c): c is HouseFunction => c instanceof HouseFunction)
      .map((fn) => ({ fn, template: Template.fromStack(stack), stackName: stack.stackName })),
  );
  const logicalId = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
  const kmsOf = ({ fn, template }: (typeof functions)[number]) =>
    statementsForRole(template, logicalId(fn.role)).filter((s) => actionsOf(s).some((a) => a.toLowerCase().startsWith('kms:')));
  const envOf = ({ fn, template }: (typeof functions)[number]) =>
    resourcesOf(template, 'AWS::Lambda::Function')[logicalId(fn.function)]!.Properties!.Environment?.Variables ?? {};

  it('exactly the functions whose bundle includes functions/shared/secrets.ts hold a grant and the key id', async () => {
    expect(functions.length).toBeGreaterThan(5);
    const users: string[] = [];
    for (const f of functions) {
      const uses = await usesSecrets(f.fn.entry);
      if (uses) users.push(f.fn.entry);
      expect(kmsOf(f).length > 0, `${f.fn.entry}: grant iff it uses secrets.ts (${uses})`).toBe(uses);
      expect(SECRETS_KEY_ENV in envOf(f), `${f.fn.entry}: ${SECRETS_KEY_ENV} iff it uses secrets.ts`).toBe(uses);
    }
    expect(users.sort()).toEqual(['functions/api/areas/webhooks.ts', 'functions/deliveries/consumer.ts']);
  }, 120_000);

  it('the API seals only (GenerateDataKey); only the signer may decrypt', () => {
    for (const f of functions) {
      const actions = kmsOf(f).flatMap(actionsOf).sort();
      if (actions.length === 0) continue;
      if (f.fn.entry.startsWith('functions/api/')) expect(actions, f.fn.entry).toEqual([...SECRET_ACTIONS.seal]);
      else expect(actions, f.fn.entry).toEqual([...SECRET_ACTIONS.sign].sort());
    }
  });

  it('every grant is on this key only, for the webhook-secret purpose only', () => {
    const exportName = Object.values((data.toJSON().Outputs ?? {}) as Record<string, { Value: unknown; Export?: { Name: string } }>).find(
      (o) => JSON.stringify(o.Value) === JSON.stringify({ 'Fn::GetAtt': [keyId, 'Arn'] }) && o.Export,
    )!.Export!.Name;
    for (const f of functions) {
      for (const s of kmsOf(f)) {
        expect(s.Resource, f.fn.entry).toEqual({ 'Fn::ImportValue': exportName });
        expect((s as { Condition?: unknown }).Condition, f.fn.entry).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': WEBHOOK_SECRET_PURPOSE } });
        expect(envOf(f)[SECRETS_KEY_ENV]).toEqual({ 'Fn::ImportValue': exportName });
      }
    }
  });
});

describe('the pagination cursor key', () => {
  const api = Template.fromStack(stacks.api);
  const [secretId, secret] = onlyResource(data, 'AWS::SecretsManager::Secret');

  it('is a generated secret in the data stack, retained', () => {
    expect(secret.Properties!.GenerateSecretString).toMatchObject({ PasswordLength: 64, ExcludePunctuation: true });
    expect(secret.DeletionPolicy).toBe('Retain');
  });

  it('every API function with table access knows it and may read it, and nothing else may', () => {
    const exportOf = Object.values((data.toJSON().Outputs ?? {}) as Record<string, { Value: unknown; Export?: { Name: string } }>).find(
      (o) => JSON.stringify(o.Value) === JSON.stringify({ Ref: secretId }) && o.Export,
    )!.Export!.Name;
    const functions = Object.values(resourcesOf(api, 'AWS::Lambda::Function'));
    const withTable = functions.filter((f) => f.Properties!.Environment?.Variables?.TABLE_NAME && !f.Properties!.Environment?.Variables?.JWT_ISSUER);
    expect(withTable.length).toBeGreaterThan(3);
    for (const f of functions) {
      const expected = withTable.includes(f);
      expect(f.Properties!.Environment?.Variables?.CURSOR_SIGNING_KEY_SECRET_ARN, f.Properties!.Description).toEqual(
        expected ? { 'Fn::ImportValue': exportOf } : undefined,
      );
    }
    const readers = allStatementsOf(api).filter((st) => actionsOf(st).includes('secretsmanager:GetSecretValue'));
    expect(readers.length).toBe(withTable.length);
    for (const st of readers) expect(st.Resource).toEqual({ 'Fn::ImportValue': exportOf });
  });
});
