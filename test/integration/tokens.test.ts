/**
 * API tokens against DynamoDB Local: created by an admin user with the secret shown once and only
 * its hash stored, accepted by the authorizer code (the same in AWS and npm start), noted as used
 * at most once a minute, refused at once after revocation or expiry.
 */
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../domain/kernel/client';
import { keys } from '../../domain/kernel/keys';
import { DynamoApiTokenStore } from '../../domain/tokens/store';
import { API_TOKEN_PATTERN, ApiTokenAuthenticator, hashApiTokenSecret } from '../../domain/tokens/tokens';
import { createAuthorizer } from '../../functions/auth/authorize';
import { call, client, newOrg } from '../support/api';
import { snapshotOrg } from '../support/table';

const table = process.env['TABLE_NAME']!;
const store = new DynamoApiTokenStore(documentClient, table);

/** The authorizer with a clock the test moves; JWTs play no part here. */
function authorizerAt(clock: { now: number }) {
  const authenticator = new ApiTokenAuthenticator(store, () => clock.now);
  return createAuthorizer({
    issuer: 'https://issuer.test',
    audience: ['test'],
    keys: createLocalJWKSet({ keys: [] }),
    tokens: () => authenticator,
    now: () => clock.now,
  });
}

async function tokenItem(orgId: string, tokenId: string) {
  const { Item } = await documentClient.send(new GetCommand({ TableName: table, Key: keys.apiToken(orgId, tokenId), ConsistentRead: true }));
  return Item;
}

describe('creating and listing API tokens', () => {
  it('shows the secret once and stores only its SHA-256', async () => {
    const orgId = newOrg('tok');
    const api = client(orgId, 'admin');
    const created = await api('createApiToken', { body: { name: 'ERP sync', role: 'member' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^tok_/),
      name: 'ERP sync',
      role: 'member',
      createdBy: 'user-admin',
      hint: created.body.secret.slice(0, 8),
    });
    expect(created.body.secret).toMatch(API_TOKEN_PATTERN);

    // Nowhere in the table: not in the organization's items, not in the lookup item.
    const everything = await documentClient.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    expect(JSON.stringify(everything.Items)).not.toContain(created.body.secret);
    const lookup = await documentClient.send(new GetCommand({ TableName: table, Key: keys.apiTokenLookup(hashApiTokenSecret(created.body.secret)) }));
    expect(lookup.Item).toMatchObject({ orgId, tokenId: created.body.id, role: 'member' });

    const list = await api('listApiTokens');
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      items: [{ id: created.body.id, name: 'ERP sync', role: 'member', hint: created.body.hint, createdBy: 'user-admin', createdAt: created.body.createdAt }],
      nextCursor: null,
    });
  });

  it('refuses non-admins, API tokens themselves, past expiries and unknown roles, writing nothing', async () => {
    const orgId = newOrg('tok');
    for (const role of ['viewer', 'member'] as const) {
      expect((await call('createApiToken', { body: { name: 'x', role: 'viewer' } }, { orgId, role })).status).toBe(403);
      expect((await call('listApiTokens', {}, { orgId, role })).status).toBe(403);
    }
    const asToken = await call(
      'createApiToken',
      { body: { name: 'x', role: 'admin' } },
      { orgId, role: 'admin', userId: 'tok_01JD0000000000000000000000', tokenId: 'tok_01JD0000000000000000000000' },
    );
    expect(asToken.status).toBe(403);
    expect(asToken.body.detail).toMatch(/API tokens cannot/);
    const past = await call('createApiToken', { body: { name: 'x', role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' } }, { orgId, role: 'admin' });
    expect(past.status).toBe(422);
    expect(past.body.errors[0].path).toBe('expiresAt');
    expect((await call('createApiToken', { body: { name: 'x', role: 'owner' } }, { orgId, role: 'admin' })).status).toBe(400);
    expect(await snapshotOrg(orgId)).toEqual([]);
  });

  it('bounds the tokens of an organization inside the create transaction', async () => {
    const orgId = newOrg('tok');
    const token = (id: string) => ({
      id,
      name: id,
      role: 'viewer' as const,
      hint: 'cft_x',
      createdBy: 'u',
      createdAt: new Date().toISOString(),
      secretHash: hashApiTokenSecret(id),
    });
    expect(await store.create(orgId, token('tok_a'), 2)).toBe('ok');
    expect(await store.create(orgId, token('tok_b'), 2)).toBe('ok');
    expect(await store.create(orgId, token('tok_c'), 2)).toBe('limit');
    expect(await store.delete(orgId, 'tok_a')).toBe(true);
    expect(await store.create(orgId, token('tok_c'), 2)).toBe('ok');
    expect((await store.list(orgId)).map((t) => t.id)).toEqual(['tok_b', 'tok_c']);
  });
});

describe('authenticating with an API token', () => {
  it('lets the token act with its role in its organization, recorded as createdBy', async () => {
    const orgId = newOrg('tok');
    const created = await call('createApiToken', { body: { name: 'CI', role: 'admin' } }, { orgId, role: 'admin' });
    const clock = { now: Date.now() };
    const decision = await authorizerAt(clock)(`Bearer ${created.body.secret}`);
    expect(decision).toEqual({ allow: true, context: { orgId, role: 'admin', sub: created.body.id, kind: 'token', tokenId: created.body.id } });

    // The handlers read that context: a card made by the token names it as creator.
    const asToken = { orgId, role: 'admin' as const, userId: created.body.id, tokenId: created.body.id };
    const pipe = await call('createPipe', { body: { name: 'Made by a machine', phases: [{ name: 'Start' }] } }, asToken);
    expect(pipe.status).toBe(201);
    const card = await call('createCard', { params: { pipeId: pipe.body.id }, body: { title: 'Nightly import' } }, asToken);
    expect(card.status).toBe(201);
    expect(card.body.createdBy).toBe(created.body.id);
  });

  it('notes the last use at most once a minute', async () => {
    const orgId = newOrg('tok');
    const created = await call('createApiToken', { body: { name: 'busy', role: 'viewer' } }, { orgId, role: 'admin' });
    const clock = { now: Date.parse('2030-01-01T10:00:00.000Z') };
    const authorize = authorizerAt(clock);
    await authorize(`Bearer ${created.body.secret}`);
    expect((await tokenItem(orgId, created.body.id))?.['lastUsedAt']).toBe('2030-01-01T10:00:00.000Z');

    clock.now += 30_000;
    await authorize(`Bearer ${created.body.secret}`);
    // A second container (no memory of the first write) is held back by the condition.
    await authorizerAt(clock)(`Bearer ${created.body.secret}`);
    expect((await tokenItem(orgId, created.body.id))?.['lastUsedAt']).toBe('2030-01-01T10:00:00.000Z');

    clock.now += 31_000;
    await authorize(`Bearer ${created.body.secret}`);
    expect((await tokenItem(orgId, created.body.id))?.['lastUsedAt']).toBe('2030-01-01T10:01:01.000Z');
    const list = await call('listApiTokens', {}, { orgId, role: 'admin' });
    expect(list.body.items[0].lastUsedAt).toBe('2030-01-01T10:01:01.000Z');
  });

  it('refuses a revoked token at once, and the revocation is final', async () => {
    const orgId = newOrg('tok');
    const api = client(orgId, 'admin');
    const created = await api('createApiToken', { body: { name: 'leaked', role: 'member' } });
    const authorize = authorizerAt({ now: Date.now() });
    expect((await authorize(`Bearer ${created.body.secret}`)).allow).toBe(true);

    expect((await api('revokeApiToken', { params: { tokenId: created.body.id } })).status).toBe(204);
    expect(await authorize(`Bearer ${created.body.secret}`)).toEqual({ allow: false, reason: 'the API token is unknown or revoked' });
    expect((await api('revokeApiToken', { params: { tokenId: created.body.id } })).status).toBe(404);
    expect((await api('listApiTokens')).body.items).toEqual([]);
    // Nothing of it is left: not the token, its lookup item, nor a count above zero.
    expect((await snapshotOrg(orgId)).filter((i) => i['entity'] !== 'ApiTokenCount')).toEqual([]);
  });

  it('refuses an expired token', async () => {
    const orgId = newOrg('tok');
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await call('createApiToken', { body: { name: 'short-lived', role: 'viewer', expiresAt } }, { orgId, role: 'admin' });
    expect(created.body.expiresAt).toBe(expiresAt);
    const clock = { now: Date.now() };
    expect((await authorizerAt(clock)(`Bearer ${created.body.secret}`)).allow).toBe(true);
    clock.now = Date.parse(expiresAt) + 1;
    expect(await authorizerAt(clock)(`Bearer ${created.body.secret}`)).toEqual({ allow: false, reason: 'the API token has expired' });
  });

  it('denies a well-formed secret nobody issued, and anything that is not a bearer credential', async () => {
    const authorize = authorizerAt({ now: Date.now() });
    expect((await authorize(`Bearer cft_${'x'.repeat(43)}`)).allow).toBe(false);
    expect((await authorize(undefined)).allow).toBe(false);
    expect((await authorize('Basic dXNlcjpwYXNz')).allow).toBe(false);
    expect((await authorize('Bearer')).allow).toBe(false);
  });
});
