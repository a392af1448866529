/**
 * A hot parent's fan-out waits for quiet outside the stream batch (issue 8, item 2): the parent's
 * record stores the job waiting and returns; the job's own record sends a delayed wake-up on the
 * fan-out queue (a LocalQueue driving the unchanged consumer); the wake-up re-schedules while the
 * parent changes and hands the job back to its stream record once it is quiet. Through the real
 * DynamoDB Local stream: duplicate and late wake-ups, processing killed at each new point, and a
 * wake-up lost for good (the parent's next edit schedules another).
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../support/api';
import { syncedParent } from '../support/fixtures';
import { graphCheckedOrgs } from '../support/graph';
import { cardsOfPipe, snapshotOrg } from '../support/table';
import { startStreamHarness, type StreamHarness } from '../support/stream';
import type { FanOutPoint } from '../../domain/propagation/stream';
import { keys } from '../../domain/kernel/keys';

type Api = ReturnType<typeof client>;

/** What happened, in order: fan-out points reached and stream invocations returned. */
const events: Array<{ what: FanOutPoint | 'returned'; parentId?: string; pks?: string[] }> = [];
/** When set, the first time this point is reached (for this parent) it throws: that processing dies there. */
let killAt: { point: FanOutPoint; parentId: string } | undefined;
const killed: FanOutPoint[] = [];

let stream: StreamHarness;
beforeAll(async () => {
  stream = await startStreamHarness({
    // Every fan-out after a first one is hot (hotMs); the quiet window is above the edits' gap; a
    // parent with more than 5 children waits, one with 5 or fewer does not.
    tuning: { chunk: 4, concurrency: 8, hotMs: 600_000, coalesceAbove: 5, quietMs: 1000, maxWaitMs: 60_000, marginMs: 1000, lostAfterMs: 3000 },
    // A killed or failed consumer's message is back after 1 s.
    wakeupQueue: { visibilityTimeoutSeconds: 1 },
    at: (point, { parentId }) => {
      events.push({ what: point, parentId });
      if (killAt && killAt.point === point && killAt.parentId === parentId) {
        killAt = undefined;
        killed.push(point);
        throw new Error(`killed at ${point}`);
      }
    },
    afterInvocation: (event: DynamoDBStreamEvent) => {
      events.push({ what: 'returned', pks: event.Records.map((r) => (r.dynamodb?.Keys as any)?.PK?.S as string) });
    },
  });
});
afterAll(async () => {
  await stream?.stop();
});

const newOrg = graphCheckedOrgs();

async function edit(api: Api, cardId: string, fieldId: string, value: string): Promise<number> {
  const res = await api('updateCard', { params: { cardId }, body: { values: { [fieldId]: value } } });
  expect(res.status).toBe(200);
  return res.body.version as number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A parent with children, fanned out once (cold): from now on its fan-outs are hot. */
async function hotParent(label: string, children: number) {
  const orgId = newOrg(label);
  const api = client(orgId);
  const setup = await syncedParent(api, children);
  await edit(api, setup.parent.id, setup.f.pName, 'cold');
  await stream.poller.drain();
  return { orgId, api, ...setup };
}

async function expectSettled(orgId: string, childPipeId: string, f: { cName: string }, last: string, lastVersion: number) {
  const children = await cardsOfPipe(orgId, childPipeId);
  for (const child of children) {
    expect(child.values[f.cName]).toBe(last);
    expect(child.title).toBe(last);
    // One write for the cold fan-out, one for the burst.
    expect(child.writes).toBe(2);
  }
  const items = await snapshotOrg(orgId);
  expect(items.filter((i) => i['entity'] === 'PropagationJob')).toEqual([]);
  expect(items.find((i) => i['entity'] === 'FanOutMark')?.['version']).toBe(lastVersion);
  expect(stream.poller.deadLetters).toEqual([]);
  expect(stream.wakeups.deadLetters).toEqual([]);
  return children;
}

describe('fan-out: the wait for quiet is a delayed wake-up, not a sleep in the batch', () => {
  it('a burst of edits while hot: the batch returns with the job waiting, the wake-ups re-schedule, every child ends at the last value once', async () => {
    const { orgId, api, parent, childPipe, f } = await hotParent('burst', 10);
    const parentPk = keys.card(orgId, parent.id).PK;
    const from = events.length;
    const invocationsBefore = stream.wakeups.invocations.length;
    let lastVersion = 0;
    for (let v = 1; v <= 8; v++) {
      lastVersion = await edit(api, parent.id, f.pName, `v${v}`);
      await pause(200);
    }
    await stream.poller.drain();
    await expectSettled(orgId, childPipe.id, f, 'v8', lastVersion);

    const seen = events.slice(from);
    const firstWaiting = seen.findIndex((e) => e.what === 'fanout.waiting' && e.parentId === parent.id);
    expect(firstWaiting).toBeGreaterThanOrEqual(0);
    // The invocation holding the parent's record returned right after storing the wait, before any
    // wake-up came: nothing in it waited for the parent to be quiet.
    const returned = seen.findIndex((e, i) => i > firstWaiting && e.what === 'returned' && e.pks!.includes(parentPk));
    const firstWake = seen.findIndex((e) => e.what === 'fanout.wake' && e.parentId === parent.id);
    expect(returned).toBeGreaterThan(firstWaiting);
    expect(firstWake).toBeGreaterThan(returned);
    // No chunk ran between storing the wait and a wake-up handing it over; the job waited once.
    const firstChunk = seen.findIndex((e) => e.what === 'fanout.chunk' && e.parentId === parent.id);
    expect(firstChunk).toBeGreaterThan(seen.findIndex((e) => e.what === 'fanout.woken' && e.parentId === parent.id));
    expect(seen.filter((e) => e.what === 'fanout.waiting' && e.parentId === parent.id)).toHaveLength(1);
    // The edits went on for more than a quiet window: at least one re-schedule, each wake-up in the
    // organization's message group.
    const wakes = seen.filter((e) => e.what === 'fanout.wake' && e.parentId === parent.id).length;
    expect(wakes).toBeGreaterThanOrEqual(2);
    const invocations = stream.wakeups.invocations.slice(invocationsBefore);
    expect(invocations.flatMap((i) => i.groups)).toEqual(invocations.flatMap((i) => i.groups.map(() => orgId)));
  }, 300_000);

  it('duplicate, early and late wake-ups do nothing twice', async () => {
    const { orgId, api, parent, childPipe, f } = await hotParent('dupes', 6);
    const body = JSON.stringify({ orgId, parentId: parent.id });
    const lastVersion = await edit(api, parent.id, f.pName, 'dup');
    // While the job waits: one early spare (put back until due) and two due at the same time as the real one.
    await waitUntil(() => stream.wakeups.size > 0);
    stream.wakeups.send(body, orgId, 0);
    stream.wakeups.send(body, orgId, 1);
    stream.wakeups.send(body, orgId, 1);
    await stream.poller.drain();
    await expectSettled(orgId, childPipe.id, f, 'dup', lastVersion);
    const handed = events.filter((e) => e.what === 'fanout.woken' && e.parentId === parent.id).length;
    expect(handed).toBe(1);
    // Late: the job is gone; wake-ups after the end change nothing.
    const before = await snapshotOrg(orgId);
    for (let i = 0; i < 3; i++) stream.wakeups.send(body, orgId, 0);
    await stream.poller.drain();
    expect(await snapshotOrg(orgId)).toEqual(before);
  }, 300_000);

  it.each<FanOutPoint>(['fanout.waiting', 'fanout.send', 'fanout.wake', 'fanout.woken'])(
    'killed at %s: retried (stream record or message), it ends at the same state',
    async (point) => {
      const { orgId, api, parent, childPipe, f } = await hotParent(`kill-${point.replace('fanout.', '')}`, 6);
      killAt = { point, parentId: parent.id };
      const before = killed.length;
      let lastVersion = 0;
      for (let v = 1; v <= 3; v++) {
        lastVersion = await edit(api, parent.id, f.pName, `k${v}`);
        await pause(150);
      }
      await stream.poller.drain();
      expect(killed.length - before, `the kill at ${point} happened`).toBe(1);
      expect((await api('getCard', { params: { cardId: parent.id } })).body.values[f.pName]).toBe('k3');
      await expectSettled(orgId, childPipe.id, f, 'k3', lastVersion);
    },
    300_000,
  );

  it('a wake-up lost for good: the job waits until the parent next changes, which schedules another', async () => {
    const { orgId, api, parent, childPipe, f } = await hotParent('lost', 6);
    await edit(api, parent.id, f.pName, 'stuck');
    // Take the delayed message away before it is due (as if dead-lettered and never redriven).
    await waitUntil(() => stream.wakeups.size > 0);
    for (const m of stream.wakeups.receive(10, Date.now() + 60_000)) stream.wakeups.delete(m.receiptHandle!);
    await stream.poller.drain();
    const job = (await snapshotOrg(orgId)).find((i) => i['entity'] === 'PropagationJob');
    expect((job?.['job'] as { wait?: unknown } | undefined)?.wait).toBeDefined();
    expect((await cardsOfPipe(orgId, childPipe.id)).every((c) => c.values[f.cName] === 'cold')).toBe(true);
    // Past lostAfterMs (3 s here) the parent's next record sees the wake-up is overdue.
    await pause(4500);
    const lastVersion = await edit(api, parent.id, f.pName, 'found');
    await stream.poller.drain();
    await expectSettled(orgId, childPipe.id, f, 'found', lastVersion);
  }, 300_000);

  it('a hot parent with few children (coalesceAbove or fewer) fans out each edit at once: no wait, no wake-up', async () => {
    const { orgId, api, parent, childPipe, f } = await hotParent('small', 5);
    const from = events.length;
    let lastVersion = 0;
    for (let v = 1; v <= 4; v++) {
      lastVersion = await edit(api, parent.id, f.pName, `s${v}`);
      await pause(200);
    }
    await stream.poller.drain();
    const seen = events.slice(from).filter((e) => e.parentId === parent.id);
    expect(seen.filter((e) => e.what === 'fanout.waiting' || e.what === 'fanout.wake')).toEqual([]);
    expect(seen.some((e) => e.what === 'fanout.chunk')).toBe(true);
    const children = await cardsOfPipe(orgId, childPipe.id);
    expect(children).toHaveLength(5);
    for (const child of children) {
      expect(child.values[f.cName]).toBe('s4');
      // The cold fan-out, then one write per edit at most (a record whose version the mark covers writes nothing).
      expect(child.writes).toBeGreaterThanOrEqual(2);
      expect(child.writes).toBeLessThanOrEqual(5);
    }
    const items = await snapshotOrg(orgId);
    expect(items.filter((i) => i['entity'] === 'PropagationJob')).toEqual([]);
    expect(items.find((i) => i['entity'] === 'FanOutMark')?.['version']).toBe(lastVersion);
  }, 300_000);
});

async function waitUntil(check: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await pause(10);
  }
}
