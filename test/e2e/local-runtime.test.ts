/**
 * The local runtime as a client sees it: DynamoDB Local, the gateway with its authorizer
 * and the real handlers, driven over HTTP. One runtime for the file, on a free port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRuntime, type LocalRuntime } from '../../infra/local/runtime';
import { DEMO_ORG, seedDemo } from '../../infra/local/seed';
import { enforceContract } from '../support/contract';

let dir: string;
let runtime: LocalRuntime;
let admin: string;
let contract: Awaited<ReturnType<typeof enforceContract>> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-e2e-'));
  runtime = await startLocalRuntime({ port: 0, seed: false, quiet: true, keyFile: join(dir, 'key.json') });
  // Every response from here on, the seed's included, is checked against the served document.
  contract = await enforceContract(runtime.url);
  runtime.seed = await seedDemo({ url: runtime.url, issuer: runtime.issuer });
  admin = await runtime.issuer.mintToken({ orgId: DEMO_ORG, role: 'admin', sub: 'e2e-admin' });
});

afterAll(async () => {
  contract?.restore();
  await runtime?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  const body: any = text ? JSON.parse(text) : undefined;
  return { status: response.status, headers: response.headers, body };
}

function expectProblem(result: Awaited<ReturnType<typeof call>>, status: number) {
  expect(result.status).toBe(status);
  expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(result.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), code: expect.any(String) });
}

describe('the gateway in front of the handlers', () => {
  it('serves health without a token', async () => {
    const health = await call('GET', '/v1/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok' });
  });

  it('serves the OpenAPI document without a token', async () => {
    const doc = await call('GET', '/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\.1/);
    expect(doc.body.paths['/v1/pipes']).toBeDefined();
  });

  it('refuses /v1/pipes without a token', async () => {
    const result = await call('GET', '/v1/pipes');
    expectProblem(result, 401);
    expect(result.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses a garbage token', async () => {
    expectProblem(await call('GET', '/v1/pipes', { token: 'garbage.garbage.garbage' }), 401);
  });

  it('refuses an expired token', async () => {
    const expired = await runtime.issuer.mintToken({ orgId: DEMO_ORG, role: 'admin', expiresIn: '-1m' });
    expectProblem(await call('GET', '/v1/pipes', { token: expired }), 401);
  });

  it('refuses a token for another audience', async () => {
    const foreign = await runtime.issuer.sign({ org_id: DEMO_ORG, role: 'admin', sub: 'x' }, { audience: 'another-api' });
    expectProblem(await call('GET', '/v1/pipes', { token: foreign }), 401);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    expectProblem(await call('GET', '/v1/nothing-here', { token: admin }), 404);
    const wrong = await call('PUT', '/v1/pipes', { token: admin });
    expectProblem(wrong, 405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
  });

  it('lets the handlers enforce roles from the verified claims', async () => {
    const viewer = await runtime.issuer.mintToken({ orgId: DEMO_ORG, role: 'viewer' });
    expect((await call('GET', '/v1/pipes', { token: viewer })).status).toBe(200);
    expectProblem(await call('POST', '/v1/pipes', { token: viewer, body: { name: 'Not allowed' } }), 403);
  });
});

describe('API tokens through the gateway', () => {
  it('works as a bearer token with its role, and stops working the moment it is revoked', async () => {
    const created = await call('POST', '/v1/tokens', { token: admin, body: { name: 'e2e machine', role: 'viewer' } });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^cft_/);

    expect((await call('GET', '/v1/pipes', { token: secret })).status).toBe(200);
    // The role is the token's: a viewer token cannot write, and no token manages tokens.
    expectProblem(await call('POST', '/v1/pipes', { token: secret, body: { name: 'Nope' } }), 403);
    expectProblem(await call('GET', '/v1/tokens', { token: secret }), 403);

    const listed = await call('GET', '/v1/tokens', { token: admin });
    const mine = listed.body.items.find((t: { id: string }) => t.id === created.body.id);
    expect(mine).toMatchObject({ name: 'e2e machine', role: 'viewer', lastUsedAt: expect.any(String) });
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    expect((await call('DELETE', `/v1/tokens/${created.body.id}`, { token: admin })).status).toBe(204);
    const refused = await call('GET', '/v1/pipes', { token: secret });
    expectProblem(refused, 401);
    expect(refused.body.detail).toContain('revoked');
  });

  it('refuses a JWT whose org_id is a number, or issued in the future', async () => {
    expectProblem(await call('GET', '/v1/pipes', { token: await runtime.issuer.sign({ org_id: 42, role: 'admin', sub: 'x' }) }), 401);
    const ahead = await runtime.issuer.sign({ org_id: DEMO_ORG, role: 'admin', sub: 'x', iat: Math.floor(Date.now() / 1000) + 600 });
    expectProblem(await call('GET', '/v1/pipes', { token: ahead }), 401);
  });
});

describe('the seeded demo organization', () => {
  it('lists the Recruiting pipe with its phases and fields', async () => {
    const list = await call('GET', '/v1/pipes', { token: admin });
    expect(list.status).toBe(200);
    const recruiting = list.body.items.find((p: { name: string }) => p.name === 'Recruiting');
    expect(recruiting).toBeDefined();
    expect(recruiting.id).toBe(runtime.seed!.pipeId);

    const pipe = await call('GET', `/v1/pipes/${recruiting.id}`, { token: admin });
    expect(pipe.body.phases.map((p: { name: string; done: boolean }) => [p.name, p.done])).toEqual([
      ['Applied', false],
      ['Interview', false],
      ['Offer', false],
      ['Hired', false],
      ['Onboarded', true],
      ['Rejected', true],
    ]);
    expect(pipe.body.startForm.fields.map((f: { label: string; type: string }) => `${f.label}:${f.type}`)).toEqual([
      'Candidate name:short_text',
      'Email:email',
      'Role:single_select',
      'Start date:date',
    ]);
    const cards = await call('GET', `/v1/pipes/${recruiting.id}/cards`, { token: admin });
    expect(cards.body.items.map((c: { title: string }) => c.title).sort()).toEqual(['Ada Lovelace', 'Alan Turing', 'Grace Hopper']);
  });

  it('has the Suppliers database with three records', async () => {
    const records = await call('GET', `/v1/databases/${runtime.seed!.databaseId}/records`, { token: admin });
    expect(records.status).toBe(200);
    expect(records.body.items.map((r: { title: string }) => r.title)).toEqual(['Acme Components', 'Nordlicht GmbH', 'Lusitana Têxteis']);
  });

  it('seeds idempotently', async () => {
    const again = await seedDemo({ url: runtime.url, issuer: runtime.issuer });
    expect(again).toEqual({ ...runtime.seed, created: { pipe: false, database: false } });
    const list = await call('GET', '/v1/pipes', { token: admin });
    expect(list.body.items.filter((p: { name: string }) => p.name === 'Recruiting')).toHaveLength(1);
  });

  it('is invisible to another organization', async () => {
    const outsider = await runtime.issuer.mintToken({ orgId: 'e2e-outsider', role: 'admin' });
    expectProblem(await call('GET', `/v1/pipes/${runtime.seed!.pipeId}`, { token: outsider }), 404);
    expect((await call('GET', '/v1/pipes', { token: outsider })).body.items).toEqual([]);
  });
});

describe('a card through its pipe', () => {
  it('creates a pipe, creates a card, reads it, moves it and lists it', async () => {
    const org = `e2e-${Date.now().toString(36)}`;
    const owner = await runtime.issuer.mintToken({ orgId: org, role: 'admin', sub: 'owner' });
    const member = await runtime.issuer.mintToken({ orgId: org, role: 'member', sub: 'worker' });

    const created = await call('POST', '/v1/pipes', {
      token: owner,
      body: {
        name: 'Purchasing',
        startFormFields: [
          { label: 'Item', type: 'short_text', required: true, isTitle: true },
          { label: 'Amount', type: 'number' },
        ],
        phases: [{ name: 'Requested' }, { name: 'Approved', done: true }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/pipes/${created.body.id}`);
    const pipe = created.body;
    const [requested, approved] = pipe.phases;
    const [item, amount] = pipe.startForm.fields;

    const missing = await call('POST', `/v1/pipes/${pipe.id}/cards`, { token: member, body: { values: { [amount.id]: 3 } } });
    expectProblem(missing, 422);

    const card = await call('POST', `/v1/pipes/${pipe.id}/cards`, { token: member, body: { values: { [item.id]: 'Laptop', [amount.id]: 1200 } } });
    expect(card.status).toBe(201);
    expect(card.body).toMatchObject({ pipeId: pipe.id, phaseId: requested.id, title: 'Laptop', finished: false, createdBy: 'worker' });
    expect(card.headers.get('etag')).toBe(`"${card.body.version}"`);

    const read = await call('GET', `/v1/cards/${card.body.id}`, { token: member });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...card.body, parents: [], children: [] });

    const stale = await call('POST', `/v1/cards/${card.body.id}/move`, { token: member, body: { phaseId: approved.id }, headers: { 'if-match': '"999"' } });
    expectProblem(stale, 412);

    const moved = await call('POST', `/v1/cards/${card.body.id}/move`, {
      token: member,
      body: { phaseId: approved.id },
      headers: { 'if-match': `"${card.body.version}"` },
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ phaseId: approved.id, finished: true });
    expect(moved.body.phaseHistory.map((v: { phaseId: string }) => v.phaseId)).toEqual([requested.id, approved.id]);

    const inApproved = await call('GET', `/v1/pipes/${pipe.id}/cards?phaseId=${approved.id}`, { token: member });
    expect(inApproved.body.items.map((c: { id: string }) => c.id)).toEqual([card.body.id]);
    const inRequested = await call('GET', `/v1/pipes/${pipe.id}/cards?phaseId=${requested.id}`, { token: member });
    expect(inRequested.body.items).toEqual([]);
  });
});

describe('webhook deliveries through the local delivery queue', () => {
  it('the stream enqueues, the queue consumer signs and posts, and the delivery log shows it', async () => {
    const received: Array<{ headers: Record<string, string>; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const org = `e2e-wh-${Date.now().toString(36)}`;
      const owner = await runtime.issuer.mintToken({ orgId: org, role: 'admin', sub: 'owner' });
      const hook = await call('POST', '/v1/webhooks', {
        token: owner,
        body: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`, eventTypes: ['card.created'] },
      });
      expect(hook.status).toBe(201);
      const pipe = (
        await call('POST', '/v1/pipes', { token: owner, body: { name: 'Hooked', startFormFields: [{ label: 'T', type: 'short_text', isTitle: true }] } })
      ).body;
      const card = await call('POST', `/v1/pipes/${pipe.id}/cards`, { token: owner, body: { values: { [pipe.startForm.fields[0].id]: 'x' } } });
      expect(card.status).toBe(201);
      const sentBefore = runtime.deliveryQueue.invocations.length;
      await runtime.poller.drain();
      await runtime.deliveryQueue.drain();
      expect(runtime.deliveryQueue.invocations.length).toBeGreaterThan(sentBefore);
      expect(runtime.deliveryQueue.invocations.at(-1)!.groups).toContain(org);
      expect(received).toHaveLength(1);
      expect(() => new StandardWebhook(hook.body.secret).verify(received[0]!.body, received[0]!.headers)).not.toThrow();
      const log = await call('GET', `/v1/webhooks/${hook.body.id}/deliveries`, { token: owner });
      expect(log.body.items).toEqual([expect.objectContaining({ eventType: 'card.created', status: 'succeeded', attempts: 1, lastStatusCode: 204 })]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('the local dead-letter list', () => {
  const letter = (orgs: string[], reason: string) => ({
    at: new Date().toISOString(),
    reason,
    attempts: 5,
    records: orgs.map((org, i) => ({ eventID: `e-${org}-${i}`, eventName: 'MODIFY', keys: { PK: { S: `ORG#${org}#CARD#card_${i}` }, SK: { S: '#META' } } })),
  });

  it("shows an admin only their organization's records, and nothing to a token without an organization", async () => {
    // Letters as the poller files them after a record's last retry (filed here directly: a real
    // poison record takes the full retry schedule).
    runtime.poller.deadLetters.push(
      letter([DEMO_ORG], 'ours failed'),
      letter(['other-org'], 'theirs failed: card_secret'),
      letter([DEMO_ORG, 'other-org'], 'mixed: card_secret'),
    );
    try {
      const ours = await call('GET', '/v1/admin/dead-letters', { token: admin });
      expect(ours.status).toBe(200);
      const seen = ours.body.items as Array<{ reason: string; records: Array<{ keys: { PK: { S: string } } }> }>;
      expect(seen.map((l) => l.reason)).toEqual(['ours failed', 'withheld: this batch also held records of other organizations']);
      for (const l of seen) for (const r of l.records) expect(r.keys.PK.S.startsWith(`ORG#${DEMO_ORG}#`)).toBe(true);
      expect(JSON.stringify(ours.body)).not.toContain('other-org');

      const other = await runtime.issuer.mintToken({ orgId: 'other-org', role: 'admin', sub: 'other-admin' });
      expect((await call('GET', '/v1/admin/dead-letters', { token: other })).body.items.map((l: { reason: string }) => l.reason)).toEqual([
        'theirs failed: card_secret',
        'withheld: this batch also held records of other organizations',
      ]);

      const noOrg = await runtime.issuer.sign({ sub: 'someone', role: 'admin' });
      expectProblem(await call('GET', '/v1/admin/dead-letters', { token: noOrg }), 401);
      const member = await runtime.issuer.mintToken({ orgId: DEMO_ORG, role: 'member', sub: 'e2e-member' });
      expectProblem(await call('GET', '/v1/admin/dead-letters', { token: member }), 403);
    } finally {
      runtime.poller.deadLetters.splice(-3);
    }
  });
});
