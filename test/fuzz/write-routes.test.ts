/**
 * Property-based fuzzing of every write route (POST, PATCH, PUT, DELETE of the manifest) through
 * the real handlers and DynamoDB Local. Every request is invalid by construction (see
 * test/support/arbitraries.ts for how each one is poisoned and how that is checked); every
 * answer must be a 4xx problem+json, never a 5xx, and the organization must hold exactly the
 * items it held before.
 *
 * FUZZ_RUNS (default 300) sets the requests per route, FUZZ_SEED replays a run. Requests go in
 * concurrent batches of BATCH (DynamoDB Local answers in ~10 ms, so one at a time would be slow);
 * a failing batch still shrinks to its smallest failing request.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeList } from '../../functions/api/routes';
import { badRequest, type Fixtures, type RouteRequest, type WriteRoute } from '../support/arbitraries';
import { client, newOrg } from '../support/api';
import { snapshotOrg } from '../support/table';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
const BATCH = 10;

const writeRoutes = routeList.filter((r) => r.method !== 'GET') as WriteRoute[];

interface RouteStats {
  requests: number;
  statuses: Record<number, number>;
  poisons: Record<string, number>;
  ms: number;
}
const stats = new Map<string, RouteStats>();

describe('fuzzed bad input on every write route', () => {
  const orgId = newOrg('fuzz');
  const api = client(orgId, 'admin');
  let fixtures: Fixtures;

  beforeAll(async () => {
    const pipe = await api('createPipe', {
      body: {
        name: 'Fuzz target',
        startFormFields: [
          { label: 'Name', type: 'short_text', isTitle: true },
          { label: 'Amount', type: 'number' },
          { label: 'Kind', type: 'single_select', options: ['a', 'b'] },
          { label: 'Tags', type: 'multi_select', options: ['x', 'y'] },
          { label: 'When', type: 'date' },
        ],
        phases: [{ name: 'Start' }, { name: 'Review', fields: [{ label: 'Score', type: 'number', required: true }] }, { name: 'Done', done: true }],
      },
    });
    expect(pipe.status).toBe(201);
    const card = await api('createCard', { params: { pipeId: pipe.body.id }, body: { values: { [pipe.body.startForm.fields[0].id]: 'Fuzzy' } } });
    expect(card.status).toBe(201);
    const db = await api('createDatabase', {
      body: {
        name: 'Fuzz records',
        fields: [
          { label: 'Code', type: 'short_text', isTitle: true },
          { label: 'Price', type: 'currency' },
        ],
      },
    });
    expect(db.status).toBe(201);
    const record = await api('createRecord', { params: { databaseId: db.body.id }, body: { values: { [db.body.fields[0].id]: 'R-1' } } });
    expect(record.status).toBe(201);
    fixtures = {
      pipeId: pipe.body.id,
      phaseId: pipe.body.phases[1].id,
      pipeFieldId: pipe.body.startForm.fields[1].id,
      cardId: card.body.id,
      databaseId: db.body.id,
      databaseFieldId: db.body.fields[1].id,
      recordId: record.body.id,
    };
  });

  it('covers every write route of the manifest', () => {
    expect(writeRoutes.length).toBeGreaterThanOrEqual(20);
  });

  for (const route of writeRoutes) {
    it(`${route.method} ${route.path} (${route.id}) answers 4xx problem+json and writes nothing`, async () => {
      const before = await snapshotOrg(orgId);
      const s: RouteStats = { requests: 0, statuses: {}, poisons: {}, ms: 0 };
      stats.set(route.id, s);
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(fc.array(badRequest(route, fixtures), { minLength: BATCH, maxLength: BATCH }), async (batch: RouteRequest[]) => {
          const answers = await Promise.all(
            batch.map((req) =>
              api(route.id, {
                params: req.params,
                headers: req.headers,
                ...(req.query ? { query: req.query } : {}),
                ...(req.rawBody !== undefined ? { rawBody: req.rawBody } : {}),
              }),
            ),
          );
          answers.forEach((res, i) => {
            const req = batch[i]!;
            s.requests++;
            s.statuses[res.status] = (s.statuses[res.status] ?? 0) + 1;
            s.poisons[req.poison] = (s.poisons[req.poison] ?? 0) + 1;
            const why = `${req.poison} poison → ${res.status} ${JSON.stringify(res.body)?.slice(0, 500)}`;
            expect(res.status, why).toBeGreaterThanOrEqual(400);
            expect(res.status, why).toBeLessThan(500);
            expect(res.headers['content-type'], why).toBe('application/problem+json');
            expect(res.body, why).toMatchObject({ status: res.status, type: expect.stringMatching(/^urn:cardflow:problem:/), detail: expect.any(String) });
          });
        }),
        // Batches of BATCH requests: RUNS requests per route (more while shrinking a failure).
        { numRuns: Math.ceil(RUNS / BATCH), seed: SEED, endOnFailure: true },
      );
      s.ms = Date.now() - started;
      expect(await snapshotOrg(orgId)).toEqual(before);
    }, 120_000);
  }

  afterAll(() => {
    const totals: Record<number, number> = {};
    const lines = [...stats.entries()].map(([id, s]) => {
      for (const [status, n] of Object.entries(s.statuses)) totals[Number(status)] = (totals[Number(status)] ?? 0) + n;
      const statuses = Object.entries(s.statuses)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ');
      const poisons = Object.entries(s.poisons)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      return `  ${id.padEnd(20)} ${String(s.requests).padStart(5)} req  ${String(s.ms).padStart(5)} ms  ${statuses.padEnd(48)} [${poisons}]`;
    });
    const total = [...stats.values()].reduce((n, s) => n + s.requests, 0);
    console.log(
      [
        `fuzz summary (seed ${SEED}, ${RUNS} runs per route): ${total} bad requests over ${stats.size} write routes`,
        ...lines,
        `  all routes: ${Object.entries(totals)
          .map(([k, v]) => `${k}×${v}`)
          .join(' ')}; 5xx: ${Object.entries(totals)
          .filter(([k]) => Number(k) >= 500)
          .reduce((n, [, v]) => n + v, 0)}`,
      ].join('\n'),
    );
  });
});
