/**
 * Delivery-time SSRF guard: the host name is resolved once, every address is checked, and the
 * connection goes to the checked address (pinned), so DNS rebinding between check and connect
 * cannot reach an internal address. DNS is replaced by a fake the test controls.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const answers: Array<Array<{ address: string; family: number }>> = [];
const lookups: string[] = [];
vi.mock('node:dns/promises', () => ({
  lookup: vi.fn(async (host: string) => {
    lookups.push(host);
    return answers.shift() ?? [];
  }),
}));

const { postWebhook, resolveChecked } = await import('../../functions/streams/webhook-http');

const strict = { allowLoopback: false };
const local = { allowLoopback: true };

let server: Server;
let port: number;
let hits = 0;
beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.statusCode = 204;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  answers.length = 0;
  lookups.length = 0;
  hits = 0;
});

describe('delivery-time address check', () => {
  it('refuses a host if any of its addresses is not public', async () => {
    answers.push([
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:169.254.169.254', family: 6 },
    ]);
    expect(await resolveChecked('mixed.example', strict)).toMatch(/non-public address \(::ffff:169\.254\.169\.254\)/);
  });

  it("refuses names resolving to the issue's embedded forms", async () => {
    for (const address of ['::a9fe:a9fe', '::127.0.0.1', '::ffff:0:7f00:1', '2002:a9fe:a9fe::', '2001::7f00:1', '192.88.99.1', '64:ff9b::a9fe:a9fe']) {
      answers.push([{ address, family: address.includes(':') ? 6 : 4 }]);
      expect(await resolveChecked('evil.example', local), address).toMatch(/EADDRREFUSED/);
    }
  });

  it('a refused name is never connected to', async () => {
    answers.push([{ address: '10.0.0.5', family: 4 }]);
    const result = await postWebhook(`https://internal.example:${port}/h`, {}, '{}', { timeoutMs: 1000, policy: strict });
    expect(result.error).toMatch(/non-public address \(10\.0\.0\.5\)/);
    expect(result.statusCode).toBeUndefined();
  });

  it('connects to the checked address, resolving once (no second lookup a rebinding DNS could answer)', async () => {
    // First answer: the checked loopback address (allowed locally). Any later lookup would get a
    // different address, which would fail the request: the delivery must not ask again.
    answers.push([{ address: '127.0.0.1', family: 4 }], [{ address: '10.9.9.9', family: 4 }]);
    const result = await postWebhook(`http://receiver.localhost:${port}/h`, {}, '{}', { timeoutMs: 2000, policy: local });
    expect(result.statusCode).toBe(204);
    expect(hits).toBe(1);
    expect(lookups).toEqual(['receiver.localhost']);
  });
});
