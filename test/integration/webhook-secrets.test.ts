/**
 * Webhook signing secrets at rest: sealed in the table (envelope encryption, the local key here,
 * KMS in AWS), bound to their organization and webhook, opened only to sign; webhooks written
 * before encryption keep delivering and are sealed in place by the signer.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../domain/kernel/client';
import { keys } from '../../domain/kernel/keys';
import { newSecret } from '../../domain/webhooks/webhooks';
import { client, newOrg } from '../support/api';
import { settle, startDeliveryQueue } from '../support/deliveries';
import { startStreamHarness, type StreamHarness } from '../support/stream';
import type { LocalQueue } from '../../infra/local/local-queue';

process.env['WEBHOOK_ALLOW_LOOPBACK'] = 'true';

let stream: StreamHarness;
let queue: LocalQueue;
let received: Array<{ headers: Record<string, string>; body: string }> = [];
let url = '';
let close: () => Promise<void>;
beforeAll(async () => {
  stream = await startStreamHarness();
  queue = await startDeliveryQueue();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
});
afterAll(async () => {
  await close?.();
  await queue?.stop();
  await stream?.stop();
});

const table = () => process.env['TABLE_NAME']!;
const stored = async (orgId: string, webhookId: string) =>
  (await documentClient.send(new GetCommand({ TableName: table(), Key: keys.webhook(orgId, webhookId), ConsistentRead: true }))).Item!;

async function pipeAndCard(api: ReturnType<typeof client>) {
  const pipe = (await api('createPipe', { body: { name: 'P', startFormFields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
  await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [pipe.startForm.fields[0].id]: 'Acme' } } });
}

describe('webhook secrets at rest', () => {
  it('stores the secret sealed, shows it once, and signs with it', async () => {
    const orgId = newOrg('sealed');
    const api = client(orgId);
    const created = await api('createWebhook', { body: { url, eventTypes: ['card.created'] } });
    expect(created.status).toBe(201);
    const { id, secret } = created.body;
    const item = await stored(orgId, id);
    expect(item['secret']).toMatch(/^cfenc1\.local\./);
    expect(JSON.stringify(item)).not.toContain(secret.slice(6));
    expect(item['secretHint']).toBe(`${secret.slice(0, 10)}…`);
    expect((await api('getWebhook', { params: { webhookId: id } })).body.secretHint).toBe(`${secret.slice(0, 10)}…`);

    received = [];
    await pipeAndCard(api);
    await settle(stream, queue);
    expect(received).toHaveLength(1);
    expect(() => new StandardWebhook(secret).verify(received[0]!.body, received[0]!.headers)).not.toThrow();

    // Rotation seals the new secret; the previous one moves as stored and still signs.
    const rotated = await api('rotateWebhookSecret', { params: { webhookId: id } });
    const after = await stored(orgId, id);
    expect(after['secret']).toMatch(/^cfenc1\.local\./);
    expect(after['previousSecret']).toBe(item['secret']);
    received = [];
    await pipeAndCard(api);
    await settle(stream, queue);
    expect(received).toHaveLength(1);
    for (const s of [secret, rotated.body.secret]) expect(() => new StandardWebhook(s).verify(received[0]!.body, received[0]!.headers)).not.toThrow();
  });

  it('a sealed secret does not open for another organization or another webhook', async () => {
    const { decryptSecret, encryptSecret, SecretDecryptionError } = await import('../../functions/shared/secrets');
    const plain = newSecret();
    const sealed = await encryptSecret(plain, { orgId: 'org_a', webhookId: 'webhook_1' });
    expect(await decryptSecret(sealed, { orgId: 'org_a', webhookId: 'webhook_1' })).toBe(plain);
    await expect(decryptSecret(sealed, { orgId: 'org_b', webhookId: 'webhook_1' })).rejects.toBeInstanceOf(SecretDecryptionError);
    await expect(decryptSecret(sealed, { orgId: 'org_a', webhookId: 'webhook_2' })).rejects.toBeInstanceOf(SecretDecryptionError);
    // Flip the first character of the ciphertext: the last one may carry only base64 padding bits.
    const parts = sealed.split('.');
    const body = parts.at(-2)!;
    parts[parts.length - 2] = `${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`;
    const tampered = parts.join('.');
    expect(tampered).not.toBe(sealed);
    await expect(decryptSecret(tampered, { orgId: 'org_a', webhookId: 'webhook_1' })).rejects.toBeInstanceOf(SecretDecryptionError);
  });

  it('a webhook stored before encryption keeps delivering and is sealed in place by the signer', async () => {
    const orgId = newOrg('legacy');
    const api = client(orgId);
    // As the code before encryption wrote it: plaintext secrets, no hint, mid-rotation.
    const created = (await api('createWebhook', { body: { url, eventTypes: ['card.created'] } })).body;
    const current = newSecret();
    const previous = newSecret();
    const legacy: Record<string, unknown> = {
      ...(await stored(orgId, created.id)),
      secret: current,
      previousSecret: previous,
      previousSecretExpiresAt: new Date(Date.now() + 3600_000).toISOString(),
    };
    delete legacy['secretHint'];
    await documentClient.send(new PutCommand({ TableName: table(), Item: legacy }));
    expect((await api('getWebhook', { params: { webhookId: created.id } })).body.secretHint).toBe(`${current.slice(0, 10)}…`);

    received = [];
    await pipeAndCard(api);
    await settle(stream, queue);
    expect(received).toHaveLength(1);
    for (const s of [current, previous]) expect(() => new StandardWebhook(s).verify(received[0]!.body, received[0]!.headers)).not.toThrow();

    const migrated = await stored(orgId, created.id);
    expect(migrated['secret']).toMatch(/^cfenc1\.local\./);
    expect(migrated['previousSecret']).toMatch(/^cfenc1\.local\./);
    expect(JSON.stringify(migrated)).not.toContain(current.slice(6));
    expect(JSON.stringify(migrated)).not.toContain(previous.slice(6));
    expect(migrated['version']).toBe(legacy['version']);
    expect(migrated['secretHint']).toBe(`${current.slice(0, 10)}…`);

    // And the sealed form signs the next delivery the same way.
    received = [];
    await pipeAndCard(api);
    await settle(stream, queue);
    expect(received).toHaveLength(1);
    expect(() => new StandardWebhook(current).verify(received[0]!.body, received[0]!.headers)).not.toThrow();
  });
});
