/**
 * Webhooks through the real DynamoDB Local stream and the local delivery queue: the stream
 * processor records and enqueues deliveries, the queue's consumer makes the attempts. Receivers
 * are HTTP servers on 127.0.0.1 (loopback is allowed by configuration here, as in local runs),
 * and retries use a short backoff (whole seconds: it is the message's visibility timeout).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifySignature } from '../../domain/webhooks/webhooks';
import { client, fakeContext, newOrg } from '../support/api';
import { settle as settleBoth, startDeliveryQueue } from '../support/deliveries';
import { startStreamHarness, type StreamHarness } from '../support/stream';
import type { LocalQueue } from '../../infra/local/local-queue';
import { expectGraphValid } from '../support/graph';
import { snapshotOrg } from '../support/table';

// Configuration the handlers read when first imported (below, by the harness and the API client).
Object.assign(process.env, {
  WEBHOOK_ALLOW_LOOPBACK: 'true',
  WEBHOOK_BACKOFF_BASE_MS: '20',
  WEBHOOK_BACKOFF_MAX_MS: '80',
  WEBHOOK_TIMEOUT_MS: '1500',
});

let stream: StreamHarness;
let queue: LocalQueue;
const receivers: Receiver[] = [];
beforeAll(async () => {
  stream = await startStreamHarness();
  queue = await startDeliveryQueue();
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await queue?.stop();
  await stream?.stop();
});

const settle = () => settleBoth(stream, queue);

type Api = ReturnType<typeof client>;

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  event: any;
  receivedAt: number;
}

interface Receiver {
  url: string;
  received: Delivery[];
  /** The status answered to the n-th request (1-based); 'hang' never answers. */
  respond: (n: number) => number | 'hang' | Promise<number>;
  close(): Promise<void>;
}

async function receiver(respond: Receiver['respond'] = () => 200): Promise<Receiver> {
  const r = { received: [] as Delivery[], respond } as Receiver;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', async () => {
      r.received.push({ headers: req.headers, body, event: JSON.parse(body), receivedAt: Date.now() });
      const status = await r.respond(r.received.length);
      if (status !== 'hang') res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/cardflow`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  receivers.push(r);
  return r;
}

async function pipeWithPhases(api: Api) {
  return (
    await api('createPipe', {
      body: {
        name: 'Deals',
        startFormFields: [
          { label: 'Name', type: 'short_text', isTitle: true },
          { label: 'Amount', type: 'number' },
        ],
        phases: [{ name: 'Lead' }, { name: 'Proposal' }, { name: 'Won', done: true }],
      },
    })
  ).body;
}

async function webhook(api: Api, url: string, eventTypes: string[]) {
  const res = await api('createWebhook', { body: { url, eventTypes } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret: string };
}

/** A card with a value (see the note on empty maps in the report: the local poller drops them). */
const newCard = async (api: Api, pipe: any) =>
  (await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [pipe.startForm.fields[0].id]: 'Card' } } })).body;

/**
 * The event types a receiver got, as a sorted list: deliveries of one webhook are attempted in
 * parallel off a standard queue, so arrival order is not promised (README: "Webhook deliveries: a
 * queue of their own"); what is, is that every event arrives, once.
 */
const types = (r: Receiver) => r.received.map((d) => d.event.type as string).sort();
const deliveriesOf = async (api: Api, webhookId: string) => (await api('listWebhookDeliveries', { params: { webhookId } })).body.items as any[];

describe('webhook administration', () => {
  it('creates a webhook whose secret is shown once, never on reads', async () => {
    const api = client(newOrg('whcrud'));
    const created = await api('createWebhook', {
      body: { url: 'https://erp.example.com/hooks', eventTypes: ['card.*', 'connection.created', 'card.*'], description: 'ERP' },
    });
    expect(created.status).toBe(201);
    expect(created.headers['location']).toBe(`/v1/webhooks/${created.body.id}`);
    expect(created.headers['etag']).toBe('"1"');
    expect(created.body).toMatchObject({
      url: 'https://erp.example.com/hooks',
      eventTypes: ['card.*', 'connection.created'],
      enabled: true,
      description: 'ERP',
      consecutiveFailures: 0,
    });
    expect(created.body.id).toMatch(/^wh_[0-9A-Z]{26}$/);
    const { secret } = created.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body.secretHint).toBe(`${secret.slice(0, 10)}…`);

    const got = await api('getWebhook', { params: { webhookId: created.body.id } });
    expect(got.status).toBe(200);
    expect(got.body).not.toHaveProperty('secret');
    expect(JSON.stringify(got.body)).not.toContain(secret.slice(10));
    const listed = await api('listWebhooks');
    expect(listed.body.items.map((w: any) => w.id)).toEqual([created.body.id]);
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(10));

    const stale = await api('updateWebhook', { params: { webhookId: created.body.id }, body: { enabled: false }, headers: { 'if-match': '"7"' } });
    expect(stale.status).toBe(412);
    const updated = await api('updateWebhook', {
      params: { webhookId: created.body.id },
      body: { enabled: false, eventTypes: ['record.*'], description: null },
      headers: { 'if-match': '"1"' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ enabled: false, eventTypes: ['record.*'], version: 2 });
    expect(updated.body).not.toHaveProperty('description');

    const rotated = await api('rotateWebhookSecret', { params: { webhookId: created.body.id } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);
    expect(rotated.body.previousSecretExpiresAt).toBeDefined();
    expect((await api('getWebhook', { params: { webhookId: created.body.id } })).body).not.toHaveProperty('secret');

    expect((await api('deleteWebhook', { params: { webhookId: created.body.id } })).status).toBe(204);
    expect((await api('getWebhook', { params: { webhookId: created.body.id } })).status).toBe(404);
    expect((await api('listWebhookDeliveries', { params: { webhookId: created.body.id } })).status).toBe(404);
  });

  it('refuses bad URLs (422) and unknown event types (400), writing nothing', async () => {
    const orgId = newOrg('whbad');
    const api = client(orgId);
    const ssrf = [
      'https://[::a9fe:a9fe]/',
      'https://[::127.0.0.1]/',
      'https://[::ffff:0:7f00:1]/',
      'https://[2002:a9fe:a9fe::]/',
      'https://[2001::7f00:1]/',
      'https://192.88.99.1/',
    ];
    for (const url of [
      'ftp://example.com/x',
      'http://example.com/hook',
      'https://10.0.0.8/hook',
      'https://169.254.169.254/latest',
      'https://user:pw@example.com/',
      'not a url',
      ...ssrf,
    ]) {
      const res = await api('createWebhook', { body: { url, eventTypes: ['card.created'] } });
      expect(res.status, url).toBe(422);
      expect(res.body.code).toBe('webhook.invalidUrl');
      expect(res.body.errors[0].path).toBe('body.url');
    }
    for (const eventTypes of [['card.exploded'], [], ['*']]) {
      const res = await api('createWebhook', { body: { url: 'https://example.com/h', eventTypes } });
      expect(res.status, JSON.stringify(eventTypes)).toBe(400);
      expect(res.body.errors[0].path).toMatch(/^body\.eventTypes/);
    }
    expect((await api('createWebhook', { body: { url: 'https://example.com/h', eventTypes: ['card.created'], secret: 'mine' } })).status).toBe(400);
    expect(await snapshotOrg(orgId)).toEqual([]);
    const ok = await webhook(api, 'https://example.com/h', ['card.created']);
    const patch = await api('updateWebhook', { params: { webhookId: ok.id }, body: { url: 'gopher://example.com' } });
    expect(patch.status).toBe(422);
  });

  it('is for admins only, and each organization sees its own', async () => {
    const orgId = newOrg('whrole');
    const api = client(orgId);
    const hook = await webhook(api, 'https://example.com/h', ['card.created']);
    expect((await client(orgId, 'member')('listWebhooks')).status).toBe(403);
    expect((await client(orgId, 'member')('createWebhook', { body: { url: 'https://example.com/h', eventTypes: ['card.created'] } })).status).toBe(403);
    expect((await client(newOrg('whother'))('getWebhook', { params: { webhookId: hook.id } })).status).toBe(404);
  });

  it('holds at most 25 webhooks per organization', async () => {
    const api = client(newOrg('whlimit'));
    const results = await Promise.all(
      Array.from({ length: 27 }, () => api('createWebhook', { body: { url: 'https://example.com/h', eventTypes: ['card.created'] } })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(25);
    expect(results.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(['webhook.limitReached', 'webhook.limitReached']);
    const first = results.find((r) => r.status === 201)!.body;
    expect((await api('deleteWebhook', { params: { webhookId: first.id } })).status).toBe(204);
    expect((await api('createWebhook', { body: { url: 'https://example.com/h', eventTypes: ['card.created'] } })).status).toBe(201);
  });
});

describe('webhook deliveries through the stream', () => {
  it('delivers a signed event that the receiver verifies with the secret it was given', async () => {
    const orgId = newOrg('whsign');
    const api = client(orgId);
    const r = await receiver();
    const hook = await webhook(api, r.url, ['card.created']);
    const pipe = await pipeWithPhases(api);
    const card = (await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [pipe.startForm.fields[0].id]: 'Acme' } } })).body;
    await settle();

    expect(r.received).toHaveLength(1);
    const [d] = r.received;
    expect(d!.headers['content-type']).toBe('application/json');
    const id = d!.headers['webhook-id'] as string;
    const timestamp = d!.headers['webhook-timestamp'] as string;
    const signature = d!.headers['webhook-signature'] as string;
    expect(id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(d!.event.id).toBe(id);
    expect(Math.abs(Number(timestamp) - Math.floor(d!.receivedAt / 1000))).toBeLessThanOrEqual(1);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    // Verified both with the reference library and with the steps the README gives.
    expect(new StandardWebhook(hook.secret).verify(d!.body, d!.headers as Record<string, string>)).toEqual(d!.event);
    expect(verifySignature(hook.secret, { id, timestamp, signature }, d!.body)).toBe(true);
    expect(verifySignature(hook.secret, { id, timestamp, signature }, d!.body.replace('Acme', 'Acne'))).toBe(false);
    expect(d!.event).toMatchObject({
      type: 'card.created',
      orgId,
      data: { card: { id: card.id, title: 'Acme', phaseId: pipe.phases[0].id, finished: false } },
    });

    const [logged] = await deliveriesOf(api, hook.id);
    expect(logged).toMatchObject({ eventId: id, eventType: 'card.created', status: 'succeeded', attempts: 1, lastStatusCode: 200, redeliveries: 0 });
    expect(logged.history).toHaveLength(1);
    const one = await api('getWebhookDelivery', { params: { webhookId: hook.id, eventId: id } });
    expect(one.body.event).toEqual(d!.event);
  });

  it('sends card.created / moved / updated / deleted and connection.created / deleted once each, with their data', async () => {
    const orgId = newOrg('whall');
    const api = client(orgId);
    const r = await receiver();
    await webhook(api, r.url, ['card.*', 'connection.*']);
    const pipe = await pipeWithPhases(api);
    const [fName, fAmount] = pipe.startForm.fields.map((f: any) => f.id);
    const db = (await api('createDatabase', { body: { name: 'Contacts', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    const connection = (
      await api('createConnection', {
        body: { name: 'Contacts', parent: { type: 'pipe', id: pipe.id }, child: { type: 'database', id: db.id }, entries: 'multiple' },
      })
    ).body;
    const card = (await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [fName]: 'Acme', [fAmount]: 10 } } })).body;
    await api('moveCard', { params: { cardId: card.id }, body: { phaseId: pipe.phases[1].id } });
    await api('updateCard', { params: { cardId: card.id }, body: { values: { [fAmount]: 20 } } });
    const child = (
      await api('addCardChild', { params: { cardId: card.id }, body: { connectionId: connection.id, create: { values: { [db.fields[0].id]: 'Ada' } } } })
    ).body;
    expect((await api('removeCardChild', { params: { cardId: card.id, childId: child.id }, query: { connectionId: connection.id } })).status).toBe(204);
    expect((await api('deleteCard', { params: { cardId: card.id } })).status).toBe(204);
    await settle();

    expect(types(r)).toEqual(['card.created', 'card.moved', 'card.updated', 'connection.created', 'connection.deleted', 'card.deleted'].sort());
    const byType = Object.fromEntries(r.received.map((d) => [d.event.type, d.event]));
    expect(new Set(r.received.map((d) => d.event.id)).size).toBe(6);
    expect(byType['card.created'].data.card).toMatchObject({ id: card.id, values: { [fName]: 'Acme', [fAmount]: 10 } });
    expect(byType['card.moved'].data).toMatchObject({
      fromPhaseId: pipe.phases[0].id,
      toPhaseId: pipe.phases[1].id,
      card: { id: card.id, phaseId: pipe.phases[1].id },
    });
    expect(byType['card.updated'].data).toMatchObject({ changedFieldIds: [fAmount], card: { values: { [fAmount]: 20 } } });
    expect(byType['card.updated'].data).not.toHaveProperty('previousTitle');
    for (const type of ['connection.created', 'connection.deleted']) {
      expect(byType[type].data).toMatchObject({
        connectionId: connection.id,
        parentId: card.id,
        parentType: 'card',
        childId: child.id,
        childType: 'record',
        child: { id: child.id, title: 'Ada' },
      });
    }
    expect(byType['card.deleted'].data.card).toMatchObject({ id: card.id, phaseId: pipe.phases[1].id });
    for (const d of r.received) {
      expect(d.event.orgId).toBe(byType['card.created'].orgId);
      expect(Date.parse(d.event.occurredAt)).not.toBeNaN();
    }
    // Ids sort by when the change happened (a deletion's time is the stream record's, which is coarse).
    const ids = r.received.filter((d) => !d.event.type.endsWith('deleted')).map((d) => d.event.id);
    expect([...ids].sort()).toEqual(ids);
    // Webhooks, their count and their deliveries live beside the graph without disturbing it.
    expect((await snapshotOrg(orgId)).filter((i) => String(i['entity']).startsWith('Webhook')).length).toBe(8);
    await expectGraphValid(orgId);
  });

  it('delivers only what a webhook subscribed to, only while enabled, only to its own organization', async () => {
    const orgId = newOrg('whfilter');
    const api = client(orgId);
    const moves = await receiver();
    const off = await receiver();
    const records = await receiver();
    const stranger = await receiver();
    await webhook(api, moves.url, ['card.moved']);
    const disabled = await webhook(api, off.url, ['card.*']);
    await api('updateWebhook', { params: { webhookId: disabled.id }, body: { enabled: false } });
    await webhook(api, records.url, ['record.*']);
    await webhook(client(newOrg('whstranger')), stranger.url, ['card.*', 'record.*']);
    const pipe = await pipeWithPhases(api);
    const card = await newCard(api, pipe);
    await api('moveCard', { params: { cardId: card.id }, body: { phaseId: pipe.phases[2].id } });
    const db = (await api('createDatabase', { body: { name: 'D', fields: [{ label: 'N', type: 'short_text', isTitle: true }] } })).body;
    const rec = (await api('createRecord', { params: { databaseId: db.id }, body: { values: { [db.fields[0].id]: 'x' } } })).body;
    await api('updateRecord', { params: { recordId: rec.id }, body: { values: { [db.fields[0].id]: 'y' } } });
    await api('deleteRecord', { params: { recordId: rec.id } });
    await settle();
    expect(types(moves)).toEqual(['card.moved'].sort());
    expect(moves.received[0]!.event.data).toMatchObject({ toPhaseId: pipe.phases[2].id, card: { finished: true } });
    expect(types(records)).toEqual(['record.created', 'record.updated', 'record.deleted'].sort());
    // Deliveries run concurrently (the queue promises no order between events), so find it by type.
    expect(records.received.find((d) => d.event.type === 'record.updated')!.event.data).toMatchObject({
      changedFieldIds: [db.fields[0].id],
      previousTitle: 'x',
      record: { title: 'y' },
    });
    expect(off.received).toEqual([]);
    expect(stranger.received).toEqual([]);
  });

  it('a replayed batch delivers nothing twice: same event ids, one delivery item each, the same state', async () => {
    const orgId = newOrg('whreplay');
    const api = client(orgId);
    const r = await receiver();
    const hook = await webhook(api, r.url, ['card.*']);
    const pipe = await pipeWithPhases(api);
    await settle();
    const mark = stream.delivered.length;
    const card = await newCard(api, pipe);
    await api('moveCard', { params: { cardId: card.id }, body: { phaseId: pipe.phases[1].id } });
    await settle();
    expect(types(r)).toEqual(['card.created', 'card.moved'].sort());
    const settled = await snapshotOrg(orgId);
    const batches = stream.delivered.slice(mark);
    for (const batch of [...batches, ...batches]) {
      const response = await stream.handler(batch, fakeContext('replay'));
      expect(response.batchItemFailures).toEqual([]);
    }
    await settle();
    expect(types(r)).toEqual(['card.created', 'card.moved'].sort());
    const deliveries = await deliveriesOf(api, hook.id);
    expect(deliveries.map((d) => [d.eventType, d.status, d.attempts])).toEqual([
      ['card.moved', 'succeeded', 1],
      ['card.created', 'succeeded', 1],
    ]);
    expect(deliveries.map((d) => d.eventId).sort()).toEqual(r.received.map((d) => d.event.id).sort());
    expect(await snapshotOrg(orgId)).toEqual(settled);
  });

  it('propagated changes give no card.updated: only the change the user made is heard', async () => {
    const api = client(newOrg('whprop'));
    const r = await receiver();
    const parentPipe = (await api('createPipe', { body: { name: 'Parent', startFormFields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    const childPipe = (await api('createPipe', { body: { name: 'Child', startFormFields: [{ label: 'Name', type: 'short_text', isTitle: true }] } })).body;
    const [pName] = parentPipe.startForm.fields.map((f: any) => f.id);
    const [cName] = childPipe.startForm.fields.map((f: any) => f.id);
    const connection = (
      await api('createConnection', {
        body: {
          name: 'kids',
          parent: { type: 'pipe', id: parentPipe.id },
          child: { type: 'pipe', id: childPipe.id },
          entries: 'multiple',
          fieldMap: [{ childFieldId: cName, parentFieldId: pName, sync: true }],
        },
      })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: parentPipe.id }, body: { values: { [pName]: 'one' } } })).body;
    const kids = [];
    for (let i = 0; i < 3; i++)
      kids.push((await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: {} } })).body);
    await settle();
    await webhook(api, r.url, ['card.updated']);
    await api('updateCard', { params: { cardId: parent.id }, body: { values: { [pName]: 'two' } } });
    await settle();
    for (const kid of kids) expect((await api('getCard', { params: { cardId: kid.id } })).body.values[cName]).toBe('two');
    expect(types(r)).toEqual(['card.updated'].sort());
    expect(r.received[0]!.event.data).toMatchObject({ card: { id: parent.id }, changedFieldIds: [pName], previousTitle: 'one' });
  });

  it('a receiver that keeps failing ends failed after the bounded attempts; then the breaker spares the stream', async () => {
    const api = client(newOrg('whfail'));
    const r = await receiver(() => 500);
    const hook = await webhook(api, r.url, ['card.created']);
    const pipe = await pipeWithPhases(api);
    await newCard(api, pipe);
    await settle();

    expect(r.received).toHaveLength(5);
    expect(new Set(r.received.map((d) => d.headers['webhook-id'])).size).toBe(1);
    const gaps = r.received.slice(1).map((d, i) => d.receivedAt - r.received[i]!.receivedAt);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(15);
    const [failed] = await deliveriesOf(api, hook.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 5, lastStatusCode: 500, lastError: 'HTTP 500' });
    expect(failed).not.toHaveProperty('nextAttemptAt');
    expect(failed.history.map((a: any) => [a.attempt, a.statusCode])).toEqual([1, 2, 3, 4, 5].map((n) => [n, 500]));
    expect((await api('listWebhookDeliveries', { params: { webhookId: hook.id }, query: { status: 'failed' } })).body.items).toHaveLength(1);
    expect((await api('listWebhookDeliveries', { params: { webhookId: hook.id }, query: { status: 'succeeded' } })).body.items).toHaveLength(0);
    expect((await api('getWebhook', { params: { webhookId: hook.id } })).body.consecutiveFailures).toBe(5);

    // The breaker is open: the next event costs one attempt.
    await newCard(api, pipe);
    await settle();
    expect(r.received).toHaveLength(6);
    const [second] = await deliveriesOf(api, hook.id);
    expect(second).toMatchObject({ status: 'failed', attempts: 1 });

    // Redelivery once the receiver is back: a new round, through the stream, and the breaker closes.
    r.respond = () => 204;
    const again = await api('redeliverWebhookDelivery', { params: { webhookId: hook.id, eventId: failed.eventId } });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ status: 'pending', redeliveries: 1 });
    expect((await api('redeliverWebhookDelivery', { params: { webhookId: hook.id, eventId: failed.eventId } })).status).toBe(409);
    await settle();
    const redelivered = (await api('getWebhookDelivery', { params: { webhookId: hook.id, eventId: failed.eventId } })).body;
    expect(redelivered).toMatchObject({ status: 'succeeded', attempts: 6, lastStatusCode: 204, redeliveries: 1 });
    expect(redelivered).not.toHaveProperty('lastError');
    expect(r.received.at(-1)!.headers['webhook-id']).toBe(failed.eventId);
    expect((await api('getWebhook', { params: { webhookId: hook.id } })).body.consecutiveFailures).toBe(0);
  });

  it('a receiver that recovers (after errors and a timeout) ends succeeded, every attempt logged', async () => {
    const api = client(newOrg('whrecover'));
    const r = await receiver((n) => (n === 1 ? 503 : n === 2 ? 'hang' : 200));
    const hook = await webhook(api, r.url, ['card.created']);
    const pipe = await pipeWithPhases(api);
    await newCard(api, pipe);
    await settle();
    expect(r.received).toHaveLength(3);
    const [delivery] = await deliveriesOf(api, hook.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 3, lastStatusCode: 200 });
    expect(delivery.deliveredAt).toBeDefined();
    expect(delivery.history.map((a: any) => a.statusCode ?? a.error)).toEqual([503, 'timed out after 1500 ms', 200]);
    expect(delivery.history[1].durationMs).toBeGreaterThanOrEqual(1490);
    expect((await api('getWebhook', { params: { webhookId: hook.id } })).body.consecutiveFailures).toBe(0);
  });

  it('writes WebhookDeliveries by outcome: enqueued by the stream, then each attempt by the consumer', async () => {
    const api = client(newOrg('whmetrics'));
    const r = await receiver((n) => (n === 1 ? 500 : 204));
    const hook = await webhook(api, r.url, ['card.created']);
    const pipe = await pipeWithPhases(api);
    await settle();
    const lines: string[] = [];
    // Powertools writes EMF with its own Console on process.stdout.
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    try {
      await newCard(api, pipe);
      await settle();
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }
    const outcomes = lines
      .filter((l) => l.includes('"WebhookDeliveries"'))
      .map(
        (l) =>
          JSON.parse(l) as { outcome: string; WebhookDeliveries: number; _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> } },
      );
    expect(outcomes.map((o) => [o.outcome, o.WebhookDeliveries])).toEqual([
      ['enqueued', 1],
      ['retrying', 1],
      ['succeeded', 1],
    ]);
    for (const o of outcomes) expect(o._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'cardflow', Dimensions: [['service', 'outcome']] });
    expect((await deliveriesOf(api, hook.id))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('pending deliveries of a disabled webhook end without further attempts', async () => {
    const api = client(newOrg('whdisable'));
    let hookId = '';
    const r = await receiver(async () => {
      // Disable the webhook while its first attempt is under way.
      await api('updateWebhook', { params: { webhookId: hookId }, body: { enabled: false } });
      return 500;
    });
    const hook = await webhook(api, r.url, ['card.created']);
    hookId = hook.id;
    const pipe = await pipeWithPhases(api);
    await newCard(api, pipe);
    await settle();
    expect(r.received).toHaveLength(1);
    const [delivery] = await deliveriesOf(api, hook.id);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastError: 'webhook disabled' });
  });

  it('a repeated queue message (a replay, an at-least-once duplicate) makes no attempt and logs nothing twice', async () => {
    const orgId = newOrg('whdup');
    const api = client(orgId);
    const r = await receiver();
    const hook = await webhook(api, r.url, ['card.created']);
    const pipe = await pipeWithPhases(api);
    await newCard(api, pipe);
    await settle();
    expect(r.received).toHaveLength(1);
    const settled = await snapshotOrg(orgId);
    const eventId = r.received[0]!.event.id;
    for (let i = 0; i < 3; i++) queue.send(JSON.stringify({ orgId, webhookId: hook.id, eventId }), orgId);
    await settle();
    expect(r.received).toHaveLength(1);
    expect(await snapshotOrg(orgId)).toEqual(settled);
  });

  it('deliveries leave the stream path: a hanging receiver holds no stream record, and another organization is served meanwhile', async () => {
    const slowApi = client(newOrg('whslow'));
    const fastApi = client(newOrg('whfast'));
    let release!: () => void;
    const held = new Promise<number>((resolve) => (release = () => resolve(200)));
    const slow = await receiver(() => held);
    const fast = await receiver();
    await webhook(slowApi, slow.url, ['card.created']);
    await webhook(fastApi, fast.url, ['card.created']);
    const slowPipe = await pipeWithPhases(slowApi);
    const fastPipe = await pipeWithPhases(fastApi);
    await newCard(slowApi, slowPipe);
    await until(() => slow.received.length === 1);
    // The slow receiver holds its request open; the stream carries on and so does the other org.
    const card = await newCard(fastApi, fastPipe);
    await stream.poller.drain();
    await until(() => fast.received.length === 1);
    expect(fast.received[0]!.event.data.card.id).toBe(card.id);
    // …before the slow attempt could have ended (it ends at the earliest when it times out).
    expect(fast.received[0]!.receivedAt).toBeLessThan(slow.received[0]!.receivedAt + 1500);
    release();
    await settle();
  });
});

const until = async (check: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};
