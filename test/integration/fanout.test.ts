/**
 * Fan-out through the real DynamoDB Local stream: coalescing of quick edits, and the processing
 * killed at every point of a fan-out (chunked, handed over between invocations), then retried
 * as the event source mapping retries, ending with every child at the parent's last state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../support/api';
import { syncedParent } from '../support/fixtures';
import { graphCheckedOrgs } from '../support/graph';
import { cardsOfPipe, snapshotOrg } from '../support/table';
import { startStreamHarness, type StreamHarness } from '../support/stream';
import type { FanOutPoint } from '../../domain/propagation/stream';
import { dynamoClient } from '../../domain/kernel/client';

/**
 * Every UpdateItem the handlers' client sends, by key (`PK|SK`), refused ones included (a refused
 * conditional write costs a write too): what "writes per child" means for the bill.
 */
const updatesByKey = new Map<string, number>();
dynamoClient.middlewareStack.add(
  ((next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
    if (context.commandName === 'UpdateItemCommand') {
      const key = args.input?.Key;
      const pk = key?.PK?.S ?? key?.PK;
      const sk = key?.SK?.S ?? key?.SK;
      if (typeof pk === 'string') updatesByKey.set(`${pk}|${sk}`, (updatesByKey.get(`${pk}|${sk}`) ?? 0) + 1);
    }
    return next(args);
  }) as never,
  { step: 'initialize', name: 'countUpdates' },
);

/** When set, the n-th fan-out point reached from now on throws (the invocation dies there). */
let killAt: { n: number; seen: number; point?: FanOutPoint } | undefined;
let killed = 0;

let stream: StreamHarness;
beforeAll(async () => {
  stream = await startStreamHarness({
    // Small chunks (several cursors per fan-out) and hot-parent pacing with a quiet window well
    // above the gap between the edits (the machine may be slow).
    tuning: { chunk: 4, concurrency: 8, hotMs: 3000, coalesceAbove: 0, quietMs: 2000, maxWaitMs: 60_000, marginMs: 1000 },
    at: (point) => {
      if (!killAt) return;
      if (killAt.seen++ === killAt.n) {
        killAt.point = point;
        killAt = undefined;
        killed++;
        throw new Error(`killed at ${point}`);
      }
    },
  });
});
afterAll(async () => {
  await stream?.stop();
});

const newOrg = graphCheckedOrgs();

describe('fan-out', () => {
  it('coalesces 20 quick edits: at most 2 writes per child, every child at the last value', async () => {
    const orgId = newOrg('coalesce');
    const api = client(orgId);
    const { parent, childPipe, f } = await syncedParent(api, 60);
    await stream.poller.drain();
    updatesByKey.clear();
    // As in issue 8: 20 edits, 300 ms apart (the quiet window of this harness is 2 s).
    let lastVersion = 0;
    for (let v = 1; v <= 20; v++) {
      const edit = await api('updateCard', { params: { cardId: parent.id }, body: { values: { [f.pName]: `v${v}` } } });
      expect(edit.status).toBe(200);
      lastVersion = edit.body.version;
      await new Promise((r) => setTimeout(r, 300));
    }
    await stream.poller.drain(2500);
    const children = await cardsOfPipe(orgId, childPipe.id);
    expect(children).toHaveLength(60);
    for (const child of children) {
      expect(child.values[f.cName]).toBe('v20');
      expect(child.title).toBe('v20');
    }
    // Stored writes (versions) and UpdateItem requests sent to each child, refused ones included.
    expect(Math.max(...children.map((c) => c.writes))).toBeLessThanOrEqual(2);
    expect(Math.max(...children.map((c) => updatesByKey.get(`${c.pk}|#META`) ?? 0))).toBeLessThanOrEqual(2);
    expect(Math.min(...children.map((c) => updatesByKey.get(`${c.pk}|#META`) ?? 0))).toBeGreaterThanOrEqual(1);
    // Nothing left in flight; the mark says which version the children hold.
    const items = await snapshotOrg(orgId);
    expect(items.filter((i) => i['entity'] === 'PropagationJob')).toEqual([]);
    expect(items.find((i) => i['entity'] === 'FanOutMark')?.['version']).toBe(lastVersion);
  }, 300_000);

  it.each([
    ['in one invocation', 1000],
    // A margin above an invocation's time: every chunk is handed to the job's own stream record.
    ['handed over after every chunk', 120_000],
  ])(
    'ends with every child at the last state when the processing is killed at any point of a fan-out (%s)',
    async (_mode, marginMs) => {
      stream.tuning.marginMs = marginMs;
      // Points reached by one fan-out of 10 children in chunks of 4: begin, 3 chunks, 10 children, 2 saves, done.
      const points = 1 + 3 + 10 + 2 + 1;
      const before = killed;
      for (let n = 0; n < points; n++) {
        const orgId = newOrg(`kill${n}`);
        const api = client(orgId);
        const { parent, childPipe, f } = await syncedParent(api, 10);
        await stream.poller.drain();
        killAt = { n, seen: 0 };
        const edit = await api('updateCard', { params: { cardId: parent.id }, body: { values: { [f.pName]: `after-${n}`, [f.pTier]: null } } });
        expect(edit.status).toBe(200);
        await stream.poller.drain(500);
        // The acknowledged write is there, and every child followed it.
        expect((await api('getCard', { params: { cardId: parent.id } })).body.values[f.pName]).toBe(`after-${n}`);
        const children = await cardsOfPipe(orgId, childPipe.id);
        expect(children, `killed at point ${n}`).toHaveLength(10);
        for (const child of children) {
          expect(child.values[f.cName], `killed at point ${n}`).toBe(`after-${n}`);
          expect(child.values[f.cTier], `killed at point ${n}`).toBeUndefined();
          expect(child.writes, `killed at point ${n}`).toBe(1);
        }
        const items = await snapshotOrg(orgId);
        expect(
          items.filter((i) => i['entity'] === 'PropagationJob'),
          `killed at point ${n}`,
        ).toEqual([]);
        expect(items.filter((i) => i['entity'] === 'ParentEdge' && (i['summary'] as any).title === `after-${n}`)).toHaveLength(10);
        expect(items.filter((i) => i['entity'] === 'ChildEdge' && (i['summary'] as any).title === `after-${n}`)).toHaveLength(10);
      }
      expect(killed - before).toBe(points);
      expect(stream.poller.deadLetters).toEqual([]);
    },
    600_000,
  );
});
