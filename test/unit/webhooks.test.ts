import { describe, expect, it } from 'vitest';
import {
  addressAllowed,
  addressRange,
  afterAttempt,
  backoffMs,
  checkWebhookUrl,
  DEFAULT_DELIVERY_POLICY,
  isNonPublicAddress,
  type DeliveryPolicy,
} from '../../domain/webhooks/webhooks';

const strict = { allowLoopback: false };
const local = { allowLoopback: true };

describe('webhook URL policy', () => {
  it('accepts https to public hosts', () => {
    expect(checkWebhookUrl('https://erp.example.com/hooks/cardflow?x=1', strict)).toBeNull();
    expect(checkWebhookUrl('https://93.184.216.34:8443/h', strict)).toBeNull();
    expect(checkWebhookUrl('https://[2606:4700::1111]/h', strict)).toBeNull();
  });

  it('refuses other schemes, plain http, credentials and relative URLs', () => {
    expect(checkWebhookUrl('ftp://example.com/x', strict)).toMatch(/https/);
    expect(checkWebhookUrl('file:///etc/passwd', strict)).toMatch(/https/);
    expect(checkWebhookUrl('javascript:alert(1)', strict)).toMatch(/https/);
    expect(checkWebhookUrl('http://example.com/hook', strict)).toMatch(/https/);
    expect(checkWebhookUrl('https://user:pw@example.com/hook', strict)).toMatch(/credentials/);
    expect(checkWebhookUrl('/hooks', strict)).toMatch(/absolute/);
    expect(checkWebhookUrl(`https://example.com/${'a'.repeat(2100)}`, strict)).toMatch(/2048/);
  });

  it('refuses private, link-local and reserved addresses, however they are written', () => {
    for (const url of [
      'https://10.0.0.1/',
      'https://172.16.5.4/',
      'https://192.168.1.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[fd00::1]/',
      'https://[fe80::1]/',
      'https://[::ffff:10.0.0.1]/',
      'https://0xa000001/', // WHATWG URL normalizes to 10.0.0.1
    ]) {
      expect(checkWebhookUrl(url, strict), url).toMatch(/public|loopback/);
    }
  });

  it('loopback (localhost, 127/8, ::1) only where the deployment allows it, and then over http too', () => {
    for (const url of [
      'http://localhost:4000/h',
      'http://127.0.0.1:4000/h',
      'https://127.1.2.3/h',
      'http://[::1]:4000/h',
      'http://api.localhost/h',
      'http://2130706433/h',
    ]) {
      expect(checkWebhookUrl(url, strict), url).toMatch(/loopback/);
      expect(checkWebhookUrl(url, local), url).toBeNull();
    }
    // Allowing loopback does not open private networks.
    expect(checkWebhookUrl('http://10.0.0.1/h', local)).toMatch(/https/);
    expect(checkWebhookUrl('https://10.0.0.1/h', local)).toMatch(/public/);
  });

  it('resolved addresses are checked the same way at delivery time', () => {
    expect(isNonPublicAddress('8.8.8.8')).toBe(false);
    expect(isNonPublicAddress('2001:4860:4860::8888')).toBe(false);
    expect(isNonPublicAddress('::1')).toBe(true);
    expect(isNonPublicAddress('::')).toBe(true);
    expect(isNonPublicAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isNonPublicAddress('::ffff:8.8.8.8')).toBe(true); // embedded IPv4 is refused whatever it embeds
    expect(isNonPublicAddress('not-an-ip')).toBe(true);
    expect(addressAllowed('127.0.0.1', strict)).toBe(false);
    expect(addressAllowed('127.0.0.1', local)).toBe(true);
    expect(addressAllowed('192.168.0.10', local)).toBe(false);
  });
});

describe('SSRF: address classification by ipaddr.js', () => {
  // The cases from issue 8: IPv4 embedded in IPv6 (compatible, translated, 6to4, Teredo) and the 6to4 relay anycast.
  const issueCases = [
    'https://[::a9fe:a9fe]/',
    'https://[::127.0.0.1]/',
    'https://[::ffff:0:7f00:1]/',
    'https://[2002:a9fe:a9fe::]/',
    'https://[2001::7f00:1]/',
    'https://192.88.99.1/',
  ];

  it("refuses the issue's embedded-IPv4 and relay addresses at registration, with loopback allowed or not", () => {
    for (const url of issueCases) {
      expect(checkWebhookUrl(url, strict), url).toMatch(/public address/);
      expect(checkWebhookUrl(url, local), url).toMatch(/public address|https/);
    }
  });

  it('names the range of every refused class', () => {
    const cases: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '::1': 'loopback',
      '169.254.169.254': 'linkLocal',
      'fe80::1': 'linkLocal',
      'fe80::1%eth0': 'linkLocal',
      '10.1.2.3': 'private',
      '172.31.255.255': 'private',
      '192.168.0.1': 'private',
      'fd12:3456::1': 'uniqueLocal',
      '0.0.0.0': 'unspecified',
      '::': 'unspecified',
      '224.0.0.1': 'multicast',
      'ff02::1': 'multicast',
      '255.255.255.255': 'broadcast',
      '240.0.0.1': 'reserved',
      '192.88.99.1': 'reserved',
      '100.64.0.1': 'carrierGradeNat',
      '2002:a9fe:a9fe::': '6to4',
      '2001::7f00:1': 'teredo',
      '64:ff9b::a9fe:a9fe': 'rfc6052',
      '::ffff:127.0.0.1': 'ipv4Mapped',
      '::ffff:8.8.8.8': 'ipv4Mapped',
      '::ffff:0:7f00:1': 'rfc6145',
      '::a9fe:a9fe': 'outsideGlobalUnicast',
      '::7f00:1': 'outsideGlobalUnicast', // ::127.0.0.1 as the URL parser writes it
      '2001:db8::1': 'reserved',
      'not-an-ip': 'invalid',
    };
    for (const [ip, range] of Object.entries(cases)) {
      expect(addressRange(ip), ip).toBe(range);
      expect(isNonPublicAddress(ip), ip).toBe(true);
    }
    // ipaddr.js reads the dotted form ::127.0.0.1 as mapped (::ffff:7f00:1); refused either way.
    expect(isNonPublicAddress('::127.0.0.1')).toBe(true);
  });

  it('public unicast passes', () => {
    for (const ip of ['8.8.8.8', '93.184.216.34', '2606:4700::1111', '2001:4860:4860::8888']) {
      expect(addressRange(ip), ip).toBe('unicast');
      expect(addressAllowed(ip, strict), ip).toBe(true);
    }
  });

  it('the local-only allowance opens 127/8 and ::1 and nothing else — not their embedded forms', () => {
    expect(addressAllowed('127.0.0.1', local)).toBe(true);
    expect(addressAllowed('::1', local)).toBe(true);
    for (const ip of ['::ffff:127.0.0.1', '::127.0.0.1', '::ffff:0:7f00:1', '2001::7f00:1', '10.0.0.1', '169.254.169.254']) {
      expect(addressAllowed(ip, local), ip).toBe(false);
    }
  });
});

describe('delivery policy', () => {
  const policy: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY, maxAttempts: 5, backoffBaseMs: 1000, backoffMaxMs: 8000, breakerThreshold: 5 };
  const now = new Date('2026-01-01T00:00:00.000Z');
  const fresh = { attempts: 0, history: [] };

  it('backs off exponentially up to a cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, policy))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('a 2xx succeeds; anything else is retried later, from the end of the attempt', () => {
    expect(afterAttempt(fresh, { statusCode: 204, durationMs: 12 }, 0, now, policy)).toMatchObject({
      status: 'succeeded',
      attempt: { attempt: 1, statusCode: 204 },
    });
    const failed = afterAttempt(fresh, { statusCode: 500, durationMs: 100 }, 0, now, policy);
    expect(failed).toMatchObject({ status: 'pending', attempt: { attempt: 1, statusCode: 500, error: 'HTTP 500' } });
    expect(failed.nextAttemptAt).toBe('2026-01-01T00:00:01.100Z');
    expect(afterAttempt(fresh, { statusCode: 301, durationMs: 1 }, 0, now, policy).status).toBe('pending');
    expect(afterAttempt(fresh, { error: 'ECONNREFUSED', durationMs: 1 }, 0, now, policy)).toMatchObject({
      status: 'pending',
      attempt: { error: 'ECONNREFUSED' },
    });
  });

  it('fails for good after the attempts of a round; a redelivery starts a new round', () => {
    expect(afterAttempt({ attempts: 4, history: [] }, { statusCode: 500, durationMs: 1 }, 0, now, policy).status).toBe('failed');
    expect(afterAttempt({ attempts: 3, history: [] }, { statusCode: 500, durationMs: 1 }, 0, now, policy).status).toBe('pending');
    expect(afterAttempt({ attempts: 5, roundStartAttempts: 5, history: [] }, { statusCode: 500, durationMs: 1 }, 0, now, policy).status).toBe('pending');
  });

  it('the circuit breaker makes a failed attempt final once the webhook failed enough times in a row', () => {
    expect(afterAttempt(fresh, { statusCode: 503, durationMs: 1 }, 3, now, policy).status).toBe('pending');
    expect(afterAttempt(fresh, { statusCode: 503, durationMs: 1 }, 4, now, policy).status).toBe('failed');
    expect(afterAttempt(fresh, { statusCode: 200, durationMs: 1 }, 40, now, policy).status).toBe('succeeded');
  });

  it('keeps the newest attempts in the log', () => {
    const history = Array.from({ length: 20 }, (_, i) => ({ attempt: i + 1, at: now.toISOString(), durationMs: 1 }));
    const next = afterAttempt({ attempts: 20, roundStartAttempts: 20, history }, { statusCode: 500, durationMs: 1 }, 0, now, policy);
    expect(next.history).toHaveLength(20);
    expect(next.history[0]!.attempt).toBe(2);
    expect(next.history.at(-1)!.attempt).toBe(21);
  });
});
