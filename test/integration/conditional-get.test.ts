/**
 * Conditional GETs: every successful GET carries an ETag (an item's version, or a weak hash of a
 * list page), and If-None-Match with a current tag answers 304 without a body.
 */
import { describe, expect, it } from 'vitest';
import { client, newOrg } from '../support/api';

describe('If-None-Match', () => {
  it('answers 304 for an unchanged item and 200 with the new ETag once it changed', async () => {
    const api = client(newOrg('etag'), 'admin');
    const pipe = await api('createPipe', { body: { name: 'Hiring', phases: [{ name: 'Start' }] } });
    const first = await api('getPipe', { params: { pipeId: pipe.body.id } });
    expect(first.headers['etag']).toBe('"1"');

    const unchanged = await api('getPipe', { params: { pipeId: pipe.body.id }, headers: { 'If-None-Match': first.headers['etag']! } });
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBeUndefined();
    expect(unchanged.headers['etag']).toBe('"1"');
    // Weak comparison, lists of tags and * as RFC 9110 has them.
    for (const header of ['W/"1"', '"7", "1"', '*']) {
      expect((await api('getPipe', { params: { pipeId: pipe.body.id }, headers: { 'If-None-Match': header } })).status).toBe(304);
    }

    await api('updatePipe', { params: { pipeId: pipe.body.id }, body: { name: 'Hiring 2027' } });
    const changed = await api('getPipe', { params: { pipeId: pipe.body.id }, headers: { 'If-None-Match': '"1"' } });
    expect(changed.status).toBe(200);
    expect(changed.headers['etag']).toBe('"2"');
    expect(changed.body.name).toBe('Hiring 2027');
  });

  it('gives a list page a weak ETag over the page, which changes when the page does', async () => {
    const api = client(newOrg('etag'), 'admin');
    await api('createPipe', { body: { name: 'A', phases: [{ name: 'Start' }] } });
    const page = await api('listPipes');
    const etag = page.headers['etag']!;
    expect(etag).toMatch(/^W\/"[\w-]+"$/);
    expect((await api('listPipes')).headers['etag']).toBe(etag);
    expect((await api('listPipes', { headers: { 'If-None-Match': etag } })).status).toBe(304);

    await api('createPipe', { body: { name: 'B', phases: [{ name: 'Start' }] } });
    const after = await api('listPipes', { headers: { 'If-None-Match': etag } });
    expect(after.status).toBe(200);
    expect(after.headers['etag']).not.toBe(etag);
    expect(after.body.items).toHaveLength(2);
  });

  it('is ignored on writes (If-Match is their precondition)', async () => {
    const api = client(newOrg('etag'), 'admin');
    const pipe = await api('createPipe', { body: { name: 'A', phases: [{ name: 'Start' }] } });
    const updated = await api('updatePipe', { params: { pipeId: pipe.body.id }, body: { name: 'B' }, headers: { 'If-None-Match': '*' } });
    expect(updated.status).toBe(200);
  });
});
