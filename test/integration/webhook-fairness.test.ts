/**
 * Per-organization attempt slots: one organization's hanging receiver holds at most
 * WEBHOOK_ORG_CONCURRENCY attempts at once (its other messages go back on the queue with a short
 * delay, which is not an attempt), so a consumer with few slots still serves another organization
 * at once; when the receiver answers, every delivery ends succeeded after one attempt.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../domain/kernel/client';
import { keys } from '../../domain/kernel/keys';
import type { LocalQueue } from '../../infra/local/local-queue';
import { client, newOrg } from '../support/api';
import { settle, startDeliveryQueue } from '../support/deliveries';
import { startStreamHarness, type StreamHarness } from '../support/stream';

Object.assign(process.env, { WEBHOOK_ALLOW_LOOPBACK: 'true', WEBHOOK_ORG_CONCURRENCY: '2', WEBHOOK_TIMEOUT_MS: '20000' });

let stream: StreamHarness;
let queue: LocalQueue;
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  stream = await startStreamHarness();
  // Three consumer slots, one message each: without the cap, the slow org's backlog takes them all.
  queue = await startDeliveryQueue({ maximumConcurrency: 3, batchSize: 1 });
});
afterAll(async () => {
  await Promise.all(closers.map((c) => c()));
  await queue?.stop();
  await stream?.stop();
});

async function receiver(hold: () => Promise<void>) {
  const r = { arrivals: [] as number[], held: 0, maxHeld: 0, url: '' };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      r.arrivals.push(Date.now());
      r.held++;
      r.maxHeld = Math.max(r.maxHeld, r.held);
      await hold();
      r.held--;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return r;
}

const until = async (check: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function setUp(api: ReturnType<typeof client>, url: string) {
  const hook = (await api('createWebhook', { body: { url, eventTypes: ['card.created'] } })).body;
  const pipe = (await api('createPipe', { body: { name: 'P', startFormFields: [{ label: 'T', type: 'short_text', isTitle: true }] } })).body;
  return { hook, card: (title: string) => api('createCard', { params: { pipeId: pipe.id }, body: { values: { [pipe.startForm.fields[0].id]: title } } }) };
}

describe('per-organization attempt slots', () => {
  it("caps one organization's attempts in flight and serves another organization meanwhile; throttling is not an attempt", async () => {
    const slowOrg = newOrg('slots-slow');
    const slowApi = client(slowOrg);
    const fastApi = client(newOrg('slots-fast'));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = await receiver(() => gate);
    const fast = await receiver(async () => undefined);
    const s = await setUp(slowApi, slow.url);
    const f = await setUp(fastApi, fast.url);

    for (let i = 0; i < 6; i++) await s.card(`slow ${i}`);
    await until(() => slow.held === 2);
    // The four others keep coming back (delayed), never past the cap.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(slow.maxHeld).toBe(2);

    const sentAt = Date.now();
    await f.card('fast');
    await until(() => fast.arrivals.length === 1, 10_000);
    // A stream step, a queue hop and a throttled neighbour: well under a second, not a slot's wait.
    expect(fast.arrivals[0]! - sentAt).toBeLessThan(3_000);
    expect(slow.held).toBe(2);

    release();
    await settle(stream, queue);
    expect(slow.arrivals).toHaveLength(6);
    expect(slow.maxHeld).toBe(2);
    const deliveries = (await slowApi('listWebhookDeliveries', { params: { webhookId: s.hook.id } })).body.items as Array<{ status: string; attempts: number }>;
    expect(deliveries.map((d) => [d.status, d.attempts])).toEqual(Array.from({ length: 6 }, () => ['succeeded', 1]));
    // Every slot given back.
    const slots = (await documentClient.send(new GetCommand({ TableName: process.env['TABLE_NAME']!, Key: keys.deliverySlots(slowOrg), ConsistentRead: true })))
      .Item;
    expect(slots?.['leases']).toEqual({});
    expect(f.hook.id).toBeTruthy();
  });

  it('a lease left by a crashed consumer lapses: the slot is taken over once it expires, not before', async () => {
    const { WebhookStore } = await import('../../domain/webhooks/store');
    const store = new WebhookStore(documentClient, process.env['TABLE_NAME']!);
    const orgId = newOrg('slots-lapse');
    const now = Date.now();
    expect(await store.acquireSlot(orgId, 'a', now + 1_000, 2, now)).toBe(true);
    expect(await store.acquireSlot(orgId, 'b', now + 60_000, 2, now)).toBe(true);
    expect(await store.acquireSlot(orgId, 'c', now + 60_000, 2, now)).toBe(false);
    // 'a' crashed and never released: after its expiry, 'c' gets its slot; 'b' is kept.
    expect(await store.acquireSlot(orgId, 'c', now + 60_000, 2, now + 1_000)).toBe(true);
    const item = (await documentClient.send(new GetCommand({ TableName: process.env['TABLE_NAME']!, Key: keys.deliverySlots(orgId), ConsistentRead: true })))
      .Item;
    expect(Object.keys(item!['leases']).sort()).toEqual(['b', 'c']);
    await store.releaseSlot(orgId, 'b');
    await store.releaseSlot(orgId, 'b');
    expect(await store.acquireSlot(orgId, 'd', now + 60_000, 2, now + 1_000)).toBe(true);
  });
});
