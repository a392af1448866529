import { beforeAll, describe, expect, it, vi } from 'vitest';
import { requestFingerprint } from '../../domain/idempotency/idempotency';
import { documentClient } from '../../domain/kernel/client';
import { IdempotencyStore } from '../../domain/idempotency/store';
import { keys } from '../../domain/kernel/keys';
import { apiHandler } from '../../functions/api/http';
import { routes } from '../../functions/api/routes';
import { logger } from '../../functions/shared/logger';
import { buildEvent, client, fakeContext, newOrg } from '../support/api';
import { snapshotOrg } from '../support/table';

const tableName = () => process.env['TABLE_NAME']!;
const cardsIn = (items: Array<Record<string, unknown>>) => items.filter((i) => i['entity'] === 'Card');
const idempotencyItems = (items: Array<Record<string, unknown>>) => items.filter((i) => i['entity'] === 'Idempotency');

describe('Idempotency-Key on POST routes', () => {
  const orgId = newOrg('idem');
  const api = client(orgId, 'member');
  const admin = client(orgId, 'admin');
  let pipeId: string;
  let nameField: string;

  beforeAll(async () => {
    const pipe = await admin('createPipe', {
      body: { name: 'Orders', startFormFields: [{ label: 'Customer', type: 'short_text', required: true, isTitle: true }] },
    });
    expect(pipe.status).toBe(201);
    pipeId = pipe.body.id;
    nameField = pipe.body.startForm.fields[0].id;
  });

  const cardBody = (name: string) => ({ values: { [nameField]: name } });

  it('a retry with the same key and body returns the first response, replayed, and creates nothing', async () => {
    const headers = { 'Idempotency-Key': 'order-7f3c' };
    const first = await api('createCard', { params: { pipeId }, body: cardBody('Ada'), headers });
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const after = await snapshotOrg(orgId);

    const retry = await api('createCard', { params: { pipeId }, body: cardBody('Ada'), headers });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['location']).toBe(`/v1/cards/${first.body.id}`);
    expect(retry.headers['etag']).toBe(first.headers['etag']);
    expect(retry.headers['content-type']).toBe('application/json');
    expect(await snapshotOrg(orgId)).toEqual(after);

    // The record lives in the caller's organization, expires in 24 hours and holds the response.
    const record = idempotencyItems(after).find((i) => i['PK'] === keys.idempotency(orgId, 'createCard', 'order-7f3c').PK)!;
    expect(record).toMatchObject({ status: 'completed', statusCode: 201, orgId, scope: 'createCard' });
    const ttl = (record['expiresAt'] as number) - Date.now() / 1000;
    expect(ttl).toBeGreaterThan(24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);
    expect(Object.keys(record['responseHeaders'] as object).sort()).toEqual(['content-type', 'etag', 'location']);
  });

  it('the same key with a different body is 422 idempotency.keyReused and writes nothing', async () => {
    const headers = { 'Idempotency-Key': 'order-reused' };
    expect((await api('createCard', { params: { pipeId }, body: cardBody('Grace'), headers })).status).toBe(201);
    const before = await snapshotOrg(orgId);
    const res = await api('createCard', { params: { pipeId }, body: cardBody('Someone else'), headers });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 422, code: 'idempotency.keyReused', type: 'urn:cardflow:problem:idempotency.keyReused' });
    // Key order does not make a body different; an added property does.
    const reordered = await api('createCard', { params: { pipeId }, rawBody: `{"values":{"${nameField}":"Grace"}}`, headers });
    expect(reordered.status).toBe(201);
    expect(reordered.headers['idempotent-replayed']).toBe('true');
    const extra = await api('createCard', { params: { pipeId }, body: { ...cardBody('Grace'), title: 'x' }, headers });
    expect(extra.status).toBe(422);
    expect(await snapshotOrg(orgId)).toEqual(before);
  });

  it('the same key in another organization is independent', async () => {
    const otherOrg = newOrg('idem-other');
    const other = client(otherOrg, 'admin');
    const headers = { 'Idempotency-Key': 'shared-key-123' };
    const mine = await admin('createPipe', { body: { name: 'Mine' }, headers });
    const theirs = await other('createPipe', { body: { name: 'Mine' }, headers });
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.body.id).not.toBe(mine.body.id);
    // Different body in the other org: no collision with this org's record either.
    expect((await other('createPipe', { body: { name: 'Theirs' }, headers })).status).toBe(422);
    expect((await admin('createPipe', { body: { name: 'Mine' }, headers })).headers['idempotent-replayed']).toBe('true');
    expect((await other('getPipe', { params: { pipeId: mine.body.id } })).status).toBe(404);
    expect(idempotencyItems(await snapshotOrg(otherOrg))).toHaveLength(1);
  });

  it('the same key on another route is another key', async () => {
    const headers = { 'Idempotency-Key': 'per-route' };
    expect((await admin('createPipe', { body: { name: 'Per route' }, headers })).status).toBe(201);
    const db = await admin('createDatabase', { body: { name: 'Per route' }, headers });
    expect(db.status).toBe(201);
    expect(db.headers['idempotent-replayed']).toBeUndefined();
  });

  it('10 concurrent duplicates create exactly one card; the others get the replay or 409 in progress', async () => {
    const before = cardsIn(await snapshotOrg(orgId)).length;
    const headers = { 'Idempotency-Key': 'burst-0001' };
    const results = await Promise.all(Array.from({ length: 10 }, () => api('createCard', { params: { pipeId }, body: cardBody('Burst'), headers })));
    const fresh = results.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined);
    const replayed = results.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === 'true');
    const inProgress = results.filter((r) => r.status === 409);
    expect(fresh).toHaveLength(1);
    expect(replayed.length + inProgress.length).toBe(9);
    for (const r of replayed) expect(r.body.id).toBe(fresh[0]!.body.id);
    for (const r of inProgress) {
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect(r.headers['retry-after']).toBe('1');
      expect(r.body).toMatchObject({ status: 409, code: 'idempotency.inProgress' });
    }
    expect(cardsIn(await snapshotOrg(orgId)).length).toBe(before + 1);
    // Once the first has finished, a retry gets its response.
    const later = await api('createCard', { params: { pipeId }, body: cardBody('Burst'), headers });
    expect(later.headers['idempotent-replayed']).toBe('true');
    expect(later.body.id).toBe(fresh[0]!.body.id);
    console.log(`idempotency burst: 1 created, ${replayed.length} replayed, ${inProgress.length} got 409 in progress`);
  });

  it('a failed 4xx attempt gives the key back: nothing is kept, and the corrected request runs', async () => {
    const headers = { 'Idempotency-Key': 'fix-and-retry' };
    const before = await snapshotOrg(orgId);
    const failed = await api('createCard', { params: { pipeId }, body: { values: {} }, headers });
    expect(failed.status).toBe(422);
    expect(failed.body.code).toBe('card.startFormIncomplete');
    expect(await snapshotOrg(orgId)).toEqual(before);
    // The same failing request runs again (and fails again), it is not a stored answer.
    expect((await api('createCard', { params: { pipeId }, body: { values: {} }, headers })).headers['idempotent-replayed']).toBeUndefined();
    const fixed = await api('createCard', { params: { pipeId }, body: cardBody('Fixed'), headers });
    expect(fixed.status).toBe(201);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
    const again = await api('createCard', { params: { pipeId }, body: cardBody('Fixed'), headers });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(fixed.body.id);
  });

  it('a 404 from the use case is not kept either', async () => {
    const headers = { 'Idempotency-Key': 'missing-pipe' };
    const before = await snapshotOrg(orgId);
    const res = await api('createCard', { params: { pipeId: 'pipe_01JD0000000000000000000000' }, body: cardBody('x'), headers });
    expect(res.status).toBe(404);
    expect(await snapshotOrg(orgId)).toEqual(before);
  });

  it('an unexpected failure (500) gives the key back so that a retry runs', async () => {
    let fail = true;
    const flaky = apiHandler(routes.createPipe, async () => {
      if (fail) throw new Error('database on fire');
      return { body: { ok: true }, headers: { location: '/v1/pipes/pipe_x' } };
    });
    const event = () => buildEvent('createPipe', { body: { name: 'Flaky' }, headers: { 'Idempotency-Key': 'flaky-1' } }, { orgId, role: 'admin' });
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const first = await flaky(event(), fakeContext('flaky'));
    expect(logged).toHaveBeenCalledWith('Unhandled error', expect.objectContaining({ path: '/v1/pipes' }));
    logged.mockRestore();
    expect(first.statusCode).toBe(500);
    expect(JSON.parse(first.body!)).toMatchObject({ code: 'internal' });
    expect(JSON.parse(first.body!).detail).not.toContain('fire');
    const store = new IdempotencyStore(documentClient, tableName());
    expect(await store.read({ orgId, scope: 'createPipe', key: 'flaky-1' })).toBeNull();
    fail = false;
    const second = await flaky(event(), fakeContext('flaky'));
    expect(second.statusCode).toBe(201);
    expect(second.headers?.['idempotent-replayed']).toBeUndefined();
    const third = await flaky(event(), fakeContext('flaky'));
    expect(third.headers?.['idempotent-replayed']).toBe('true');
    expect(third.body).toBe(second.body);
  });

  it('the header is optional; a malformed key is 400 and writes nothing', async () => {
    const before = cardsIn(await snapshotOrg(orgId)).length;
    expect((await api('createCard', { params: { pipeId }, body: cardBody('No key') })).status).toBe(201);
    expect((await api('createCard', { params: { pipeId }, body: cardBody('No key') })).status).toBe(201);
    expect(cardsIn(await snapshotOrg(orgId)).length).toBe(before + 2);
    const snapshot = await snapshotOrg(orgId);
    for (const bad of ['', '   ', 'x'.repeat(256), 'tab\there', 'new\nline', 'ünïcödé', '\u0000']) {
      const res = await api('createCard', { params: { pipeId }, body: cardBody('Bad key'), headers: { 'Idempotency-Key': bad } });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ path: 'headers.idempotency-key', code: 'request.badIdempotencyKey' });
    }
    expect(await snapshotOrg(orgId)).toEqual(snapshot);
    // 255 printable characters, # and spaces included, are a fine key.
    const longKey = `${'k#'.repeat(127)}z`;
    expect((await api('createCard', { params: { pipeId }, body: cardBody('Long key'), headers: { 'Idempotency-Key': longKey } })).status).toBe(201);
  });

  it('a key on PATCH or DELETE is ignored (those are idempotent by If-Match)', async () => {
    const card = await api('createCard', { params: { pipeId }, body: cardBody('Patchy') });
    const headers = { 'Idempotency-Key': 'patch-key' };
    expect((await api('updateCard', { params: { cardId: card.body.id }, body: cardBody('P1'), headers })).status).toBe(200);
    const second = await api('updateCard', { params: { cardId: card.body.id }, body: cardBody('P2'), headers });
    expect(second.status).toBe(200);
    expect(second.body.title).toBe('P2');
  });
});

describe('idempotency records (store)', () => {
  const orgId = newOrg('idem-store');
  const ref = (key: string) => ({ orgId, scope: 'createCard', key });
  const fp = requestFingerprint({ method: 'POST', path: '/v1/x', body: { a: 1 } });
  const otherFp = requestFingerprint({ method: 'POST', path: '/v1/x', body: { a: 2 } });

  it('fingerprints ignore key order but not values, paths or methods', () => {
    expect(requestFingerprint({ method: 'POST', path: '/v1/x', body: { b: [1, { d: 1, c: 2 }], a: 1 } })).toBe(
      requestFingerprint({ method: 'post', path: '/v1/x', body: { a: 1, b: [1, { c: 2, d: 1 }] } }),
    );
    expect(fp).not.toBe(otherFp);
    expect(requestFingerprint({ method: 'POST', path: '/v1/y', body: { a: 1 } })).not.toBe(fp);
    expect(requestFingerprint({ method: 'PUT', path: '/v1/x', body: { a: 1 } })).not.toBe(fp);
  });

  it('an in-progress record whose lease ran out (its Lambda died) is taken over by the same request only', async () => {
    let now = Date.now();
    const store = new IdempotencyStore(documentClient, tableName(), { now: () => now });
    expect(await store.claim(ref('dead'), fp, 'req-1', 1_000)).toEqual({ outcome: 'claimed' });
    expect(await store.claim(ref('dead'), fp, 'req-2', 1_000)).toMatchObject({ outcome: 'exists', record: { status: 'in_progress' } });
    now += 5_000;
    expect(await store.claim(ref('dead'), otherFp, 'req-3', 1_000)).toMatchObject({ outcome: 'exists', record: { fingerprint: fp } });
    expect(await store.claim(ref('dead'), fp, 'req-4', 1_000)).toEqual({ outcome: 'claimed' });
    // The dead attempt can neither complete nor release what it no longer holds.
    expect(await store.complete(ref('dead'), 'req-1', { statusCode: 201, headers: {}, body: '{}' })).toBe('lost');
    await store.release(ref('dead'), 'req-1');
    expect(await store.read(ref('dead'))).toMatchObject({ status: 'in_progress', owner: 'req-4' });
  });

  it('a record past its 24 hours counts as absent even before TTL deletes it', async () => {
    let now = Date.now();
    const store = new IdempotencyStore(documentClient, tableName(), { now: () => now });
    await store.claim(ref('old'), fp, 'req-1', 1_000);
    expect(await store.complete(ref('old'), 'req-1', { statusCode: 201, headers: { etag: '"1"', 'x-other': 'no' }, body: '{"id":1}' })).toBe('stored');
    expect(await store.read(ref('old'))).toMatchObject({ status: 'completed', response: { statusCode: 201, headers: { etag: '"1"' }, body: '{"id":1}' } });
    now += 24 * 3600 * 1000 + 2_000;
    expect(await store.read(ref('old'))).toBeNull();
    expect(await store.claim(ref('old'), otherFp, 'req-2', 1_000)).toEqual({ outcome: 'claimed' });
  });

  it('large bodies are gzipped; one too large even so keeps status and headers only', async () => {
    const store = new IdempotencyStore(documentClient, tableName(), { compressAboveBytes: 100, maxStoredBytes: 2_000 });
    const compressible = JSON.stringify({ text: 'abc '.repeat(20_000) });
    await store.claim(ref('big'), fp, 'req-1', 1_000);
    expect(await store.complete(ref('big'), 'req-1', { statusCode: 201, headers: {}, body: compressible })).toBe('stored');
    expect(await store.read(ref('big'))).toMatchObject({ status: 'completed', bodyOmitted: false, response: { body: compressible } });

    const random = JSON.stringify({ text: Array.from({ length: 5_000 }, () => Math.random().toString(36)).join('') });
    await store.claim(ref('huge'), fp, 'req-1', 1_000);
    expect(await store.complete(ref('huge'), 'req-1', { statusCode: 201, headers: { location: '/v1/cards/card_1' }, body: random })).toBe('bodyOmitted');
    const record = await store.read(ref('huge'));
    expect(record).toMatchObject({ status: 'completed', bodyOmitted: true, response: { statusCode: 201, headers: { location: '/v1/cards/card_1' } } });
    expect(record?.status === 'completed' && 'body' in record.response).toBe(false);
  });
});
