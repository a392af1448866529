import { Webhook as StandardWebhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSecret, sign, signatureHeader, signingSecrets, verifySignature } from '../../domain/webhooks/webhooks';

const body = JSON.stringify({ id: 'evt_01JD0000000000000000000000', type: 'card.created', data: { title: 'Ünïcode ✓' } });
const id = 'evt_01JD0000000000000000000000';

describe('webhook signatures (Standard Webhooks)', () => {
  it('secrets are whsec_ + base64 of 32 random bytes', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newSecret()).not.toBe(secret);
  });

  it('matches the reference implementation: its verify() accepts our headers, and it signs as we do', () => {
    const secret = newSecret();
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureHeader([secret], id, timestamp, body) };
    const reference = new StandardWebhook(secret);
    expect(reference.verify(body, headers)).toEqual(JSON.parse(body));
    expect(reference.sign(id, new Date(timestamp * 1000), body)).toBe(sign(secret, id, timestamp, body));
  });

  it('pins the construction: v1, base64 HMAC-SHA256 over "<id>.<timestamp>.<body>" keyed with the decoded secret', () => {
    // Key bytes 0x00..0x1f; a fixed vector any receiver can reproduce.
    const secret = `whsec_${Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64')}`;
    expect(sign(secret, 'msg_1', 1_700_000_000, '{"a":1}')).toBe(new StandardWebhook(secret).sign('msg_1', new Date(1_700_000_000_000), '{"a":1}'));
  });

  it('verification refuses a changed body, another id, a wrong secret and an old or future timestamp', () => {
    const secret = newSecret();
    const now = 1_800_000_000;
    const good = { id, timestamp: String(now), signature: signatureHeader([secret], id, now, body) };
    expect(verifySignature(secret, good, body, now)).toBe(true);
    expect(verifySignature(secret, good, body.replace('card', 'cart'), now)).toBe(false);
    expect(verifySignature(secret, { ...good, id: 'evt_other' }, body, now)).toBe(false);
    expect(verifySignature(newSecret(), good, body, now)).toBe(false);
    expect(verifySignature(secret, good, body, now + 301)).toBe(false);
    expect(verifySignature(secret, good, body, now - 301)).toBe(false);
    expect(verifySignature(secret, { ...good, signature: good.signature.replace('v1,', 'v2,') }, body, now)).toBe(false);
  });

  it('during a rotation both secrets sign, so receivers holding either verify', () => {
    const old = newSecret();
    const fresh = newSecret();
    const now = new Date('2026-01-01T00:00:00Z');
    const webhook = { secret: fresh, previousSecret: old, previousSecretExpiresAt: '2026-01-02T00:00:00Z' };
    const secrets = signingSecrets(webhook, now);
    expect(secrets).toEqual([fresh, old]);
    const ts = Math.floor(now.getTime() / 1000);
    const header = signatureHeader(secrets, id, ts, body);
    expect(header.split(' ')).toHaveLength(2);
    expect(verifySignature(old, { id, timestamp: String(ts), signature: header }, body, ts)).toBe(true);
    expect(verifySignature(fresh, { id, timestamp: String(ts), signature: header }, body, ts)).toBe(true);
    expect(
      new StandardWebhook(old).verify(body, {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': signatureHeader(secrets, id, Math.floor(Date.now() / 1000), body),
      }),
    ).toBeTruthy();
    expect(signingSecrets(webhook, new Date('2026-01-02T00:00:01Z'))).toEqual([fresh]);
  });
});
