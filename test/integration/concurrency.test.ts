import { beforeAll, describe, expect, it } from 'vitest';
import { client, newOrg } from '../support/api';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Optimistic concurrency: every item's version is its ETag; If-Match makes an update conditional. */
describe('concurrent updates of one card', () => {
  const orgId = newOrg('conc');
  const api = client(orgId, 'member');
  const admin = client(orgId, 'admin');
  let pipe: any;

  beforeAll(async () => {
    const created = await admin('createPipe', {
      body: {
        name: 'Counters',
        startFormFields: [{ label: 'Counter', type: 'number' }, ...Array.from({ length: 20 }, (_, i) => ({ label: `Field ${i}`, type: 'short_text' }))],
      },
    });
    expect(created.status).toBe(201);
    pipe = created.body;
  });

  it('50 clients that read, add one and PATCH with If-Match (retrying on 412) leave exactly 50', async () => {
    const counter = pipe.startForm.fields.find((f: any) => f.label === 'Counter').id as string;
    const card = await api('createCard', { params: { pipeId: pipe.id }, body: { title: 'Shared counter', values: { [counter]: 0 } } });
    expect(card.status).toBe(201);
    const cardId = card.body.id as string;
    const clients = 50;
    let preconditionFailures = 0;

    const increment = async (): Promise<number> => {
      for (let attempt = 1; attempt <= 200; attempt++) {
        const read = await api('getCard', { params: { cardId } });
        expect(read.status).toBe(200);
        const value = (read.body.values[counter] as number | undefined) ?? 0;
        const write = await api('updateCard', {
          params: { cardId },
          headers: { 'If-Match': read.headers['etag']! },
          body: { values: { [counter]: value + 1 } },
        });
        if (write.status === 200) return attempt;
        expect(write.status).toBe(412);
        expect(write.headers['content-type']).toBe('application/problem+json');
        preconditionFailures++;
        // Jittered backoff, as a well-behaved client would do.
        await sleep(Math.random() * Math.min(50, 5 * attempt));
      }
      throw new Error('gave up after 200 attempts');
    };

    const started = Date.now();
    const attempts = await Promise.all(Array.from({ length: clients }, increment));
    const elapsed = Date.now() - started;

    const final = await api('getCard', { params: { cardId } });
    expect(final.body.values[counter]).toBe(clients);
    expect(final.body.version).toBe(clients + 1);
    expect(final.headers['etag']).toBe(`"${clients + 1}"`);
    expect(attempts.reduce((a, b) => a + b, 0)).toBe(clients + preconditionFailures);
    console.log(
      `concurrency: ${clients} clients → counter ${final.body.values[counter]}, version ${final.body.version}; ` +
        `${clients + preconditionFailures} PATCH attempts, ${preconditionFailures} answered 412, ` +
        `max ${Math.max(...attempts)} attempts for one client, ${elapsed} ms`,
    );
  });

  it('without If-Match, 20 concurrent PATCHes of 20 different fields all survive', async () => {
    const fields = pipe.startForm.fields.filter((f: any) => f.label.startsWith('Field ')).map((f: any) => f.id as string);
    expect(fields).toHaveLength(20);
    const card = await api('createCard', { params: { pipeId: pipe.id }, body: { title: 'Many hands' } });
    const cardId = card.body.id as string;

    const results = await Promise.all(
      fields.map((fieldId: string, i: number) => api('updateCard', { params: { cardId }, body: { values: { [fieldId]: `value ${i}` } } })),
    );
    expect(results.map((r) => r.status)).toEqual(fields.map(() => 200));

    const final = await api('getCard', { params: { cardId } });
    expect(final.body.values).toEqual(Object.fromEntries(fields.map((fieldId: string, i: number) => [fieldId, `value ${i}`])));
    expect(final.body.version).toBe(21);
    console.log(`concurrency: 20 concurrent PATCHes without If-Match → ${Object.keys(final.body.values).length}/20 values kept, version ${final.body.version}`);
  });

  it('a stale If-Match is 412 with the current version, and writes nothing', async () => {
    const field = pipe.startForm.fields.find((f: any) => f.label === 'Field 0').id as string;
    const card = await api('createCard', { params: { pipeId: pipe.id }, body: { title: 'Stale' } });
    const cardId = card.body.id as string;
    expect((await api('updateCard', { params: { cardId }, headers: { 'If-Match': '"1"' }, body: { values: { [field]: 'fresh' } } })).status).toBe(200);
    const stale = await api('updateCard', { params: { cardId }, headers: { 'If-Match': '"1"' }, body: { values: { [field]: 'stale' } } });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'request.preconditionFailed', currentVersion: 2 });
    expect((await api('getCard', { params: { cardId } })).body.values[field]).toBe('fresh');
  });

  it('a title-only PATCH with If-Match works (regression: it once answered 500)', async () => {
    const card = await api('createCard', { params: { pipeId: pipe.id }, body: { title: 'Old title' } });
    const res = await api('updateCard', { params: { cardId: card.body.id }, headers: { 'If-Match': card.headers['etag']! }, body: { title: 'New title' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ title: 'New title', version: 2 });
  });
});
