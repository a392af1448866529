/**
 * What the table's stream does with a changed card or record: refresh the summaries its
 * neighbours hold, and carry synced field values down to its children, a bounded chunk per
 * invocation, continuing from a job item when a parent has more children than one chunk.
 * Everything here is idempotent and guarded by the parent's version, so replays, retries and
 * out-of-order deliveries leave the same state.
 */
import { isDeepStrictEqual } from 'node:util';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { titleFrom } from '../fields/field-defs';
import { normalizeTitle } from '../fields/field-types';
import type { Card } from '../cards/model';
import type { Connection, ItemSummary } from '../connections/model';
import type { DatabaseDefinition, DbRecord } from '../databases/model';
import type { Field } from '../fields/model';
import type { ItemType } from '../kernel/model';
import type { PipeDefinition } from '../pipes/model';
import { strip } from '../pipes/store';
import { CHANGED_BY, PROPAGATION, planChildUpdates, summaryDiffers, syncedValues, syncVersionAttribute } from './propagation';
import type { Store } from '../store';
import { itemPk, itemTypeOf } from '../connections/store';
import { isConditionFailure, queryAll, queryPage, type Item } from '../kernel/dynamo';
import { PARENT_LINKS, PARENTS_REFRESHED } from '../items/store';
import { EDGE_PREFIX, ENTITY, gsi2, keys } from '../kernel/keys';

/** Child edges read per page of a fan-out (a chunk): its cursor is stored after each. */
export const FAN_OUT_CHUNK = 500;
export { CHANGED_BY, PROPAGATION };

/** How a fan-out paces itself (tests shorten the waits). */
export interface FanOutTuning {
  /** Child edges per page. */
  chunk: number;
  /** Child writes in flight at once. */
  concurrency: number;
  /** A parent fanned out less than `hotMs` ago is "hot": its next fan-out waits until it has been unchanged for `quietMs`. */
  hotMs: number;
  /**
   * Only a hot parent with more children than this waits: a smaller fan-out is one round of
   * concurrent writes, so waiting would save little and cost every edit the quiet window's lag.
   */
  coalesceAbove: number;
  quietMs: number;
  /** The longest such wait. */
  maxWaitMs: number;
  /** Stop and hand the rest over (job item) when the invocation has less time left than this. */
  marginMs: number;
  /** A waiting job whose wake-up is this late was lost (dead-lettered): the parent's next record schedules another. */
  lostAfterMs: number;
}

export const FAN_OUT_TUNING: Readonly<FanOutTuning> = {
  chunk: FAN_OUT_CHUNK,
  concurrency: 50,
  hotMs: 3000,
  coalesceAbove: 50,
  quietMs: 1000,
  maxWaitMs: 10_000,
  marginMs: 15_000,
  // Above the wake-up queue's visibility timeout (functions/fanout/settings.ts): a crashed consumer's message is back by then.
  lostAfterMs: 120_000,
};

/**
 * Where a waiting fan-out's wake-up goes: a delay queue (functions/fanout/queue.ts in AWS and
 * locally). The message is the job's key only; whoever receives it reads the job and the parent.
 */
export interface FanOutWakeups {
  send(key: { orgId: string; parentId: string }, delaySeconds: number): Promise<void>;
}

/** What a wake-up did: ran nothing (stale or duplicate), re-scheduled, handed the job to its stream record, or came early. */
export type WakeOutcome = { outcome: 'stale' | 'rescheduled' | 'handed' } | { outcome: 'early'; dueInSeconds: number };

/** SQS delays are whole seconds, at most 15 minutes. */
const MAX_DELAY_SECONDS = 900;
/** A wake-up this much before its due time is early (a duplicate sent before a re-schedule), not clock skew. */
const EARLY_TOLERANCE_MS = 250;

/** Points inside a fan-out where tests inject faults (a throw there kills the processing). */
export type FanOutPoint =
  | 'fanout.begin'
  | 'fanout.chunk'
  | 'fanout.child'
  | 'fanout.saved'
  | 'fanout.done'
  /** A wait stored (stream); its wake-up not sent yet. */
  | 'fanout.waiting'
  /** About to send a waiting job's wake-up (the job's own stream record). */
  | 'fanout.send'
  /** A wake-up read the job and the parent (consumer), before its conditional write. */
  | 'fanout.wake'
  /** A wake-up's write done (re-scheduled or handed over), its message not yet acknowledged. */
  | 'fanout.woken';

export interface StreamHooks {
  at?: (point: FanOutPoint, detail: { parentId: string; step: number }) => void | Promise<void>;
}

export interface StreamWorkOptions {
  /** Milliseconds left in the invocation (Lambda context). */
  remainingMs?: () => number;
  hooks?: StreamHooks;
  tuning?: Partial<FanOutTuning>;
  /** The delay queue for waits until a hot parent is quiet (required once a parent is hot). */
  wakeups?: FanOutWakeups;
}

type AnyItem = Card | DbRecord;

/** What a parent's children hold of it at one version: synced values per connection, and its summary. */
export interface ParentState {
  version: number;
  summary: ItemSummary;
  /** Per connection id: every synced child field → value (null removes). */
  values: Record<string, Record<string, unknown>>;
}

/**
 * A fan-out in flight: the parent state being written to its children, and where it stands.
 * One per parent (keys.fanOut); a newer version of the parent takes it over at the next chunk.
 */
export interface FanOutJob {
  orgId: string;
  parentType: ItemType;
  parentId: string;
  state: ParentState;
  /** Whether the children's copies of the parent's summary are refreshed too. */
  summary: boolean;
  cursor?: Item;
  /** Chunks stored so far; only the holder of step n may store step n + 1. */
  step: number;
  /** The state changed mid-pass: the children before the change are visited again (when the parent is quiet). */
  again?: boolean;
  /** Bumped when the job is handed to its own stream record to continue in another invocation. */
  handoff?: number;
  /** Waiting for the parent to be quiet: nobody runs the job until a wake-up hands it over. */
  wait?: FanOutWait;
}

/**
 * A fan-out waiting outside any invocation: the job item holds it, a delayed message on the
 * wake-up queue comes back for it. Each write of a wait bumps the job's `handoff`, so the job's
 * own stream record sends the message (retried until sent: the wait is durable before its message).
 */
export interface FanOutWait {
  /** Bumped by each re-schedule; a wake-up's write is conditional on the one it read. */
  n: number;
  /** The parent's version when last looked at: the same at the wake-up means quiet for quietMs. */
  version: number;
  /** When the wait began (epoch ms); after maxWaitMs the fan-out runs whatever the parent does. */
  since: number;
  /** When the wake-up is due (epoch ms). */
  due: number;
}

/**
 * A job item of the format before one-job-per-parent (`PROPAGATE#<version>` under the parent's
 * job partition, no `state`): a fan-out of `parentVersion` that may have stopped part-way.
 */
export interface LegacyPropagationJob {
  orgId: string;
  parentType: ItemType;
  parentId: string;
  parentVersion: number;
}

interface FanOutMark {
  version: number;
  at: number;
  summary?: ItemSummary;
}

export function summaryOfItem(type: ItemType, item: AnyItem): ItemSummary {
  const card = item as Card;
  return {
    id: item.id,
    type,
    containerId: type === 'card' ? card.pipeId : (item as DbRecord).databaseId,
    title: item.title,
    ...(type === 'card' ? { phaseId: card.phaseId } : {}),
    finished: type === 'card' ? card.finishedAt !== undefined : false,
    version: item.version,
  };
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class StreamWork {
  /** Container definitions read during one invocation; they change rarely and are re-read per batch. */
  private readonly definitions = new Map<string, Promise<PipeDefinition | DatabaseDefinition | null>>();
  private readonly tuning: FanOutTuning;
  /** Children whose synced values this work wrote (the processor's metrics, bench and tests read it). */
  childrenWritten = 0;

  constructor(
    private readonly store: Store,
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: StreamWorkOptions = {},
  ) {
    this.tuning = { ...FAN_OUT_TUNING, ...options.tuning };
  }

  private definition(orgId: string, type: ItemType, containerId: string) {
    const key = `${orgId}|${containerId}`;
    if (!this.definitions.has(key)) {
      this.definitions.set(key, type === 'card' ? this.store.containers.loadPipe(orgId, containerId) : this.store.containers.loadDatabase(orgId, containerId));
    }
    return this.definitions.get(key)!;
  }

  private remaining() {
    return this.options.remainingMs?.() ?? Number.POSITIVE_INFINITY;
  }

  private async hook(point: FanOutPoint, job: { parentId: string; step?: number }) {
    await this.options.hooks?.at?.(point, { parentId: job.parentId, step: job.step ?? 0 });
  }

  /** A card or record changed (MODIFY): refresh its parents' copies, and fan out to its children if they hold anything that changed. */
  async itemChanged(orgId: string, type: ItemType, before: AnyItem, after: AnyItem): Promise<void> {
    const oldSummary = summaryOfItem(type, before);
    const newSummary = summaryOfItem(type, after);
    const summaryChanged = summaryDiffers(oldSummary, newSummary);
    const raw = after as unknown as Record<string, unknown>;
    // A move gives its parents the new summary in its own transaction, and says so on the item;
    // a propagated write was followed by the fan-out's own refresh of the parent it came from.
    const by = raw[CHANGED_BY] as { source?: string; parentId?: string; connectionId?: string } | undefined;
    const propagated = by?.source === PROPAGATION && !isDeepStrictEqual((before as unknown as Record<string, unknown>)[CHANGED_BY], by);
    const parentsCurrent = raw[PARENTS_REFRESHED] === after.version;
    // An item never given a parent has none to tell; one given only the parent whose propagated
    // write this is was refreshed by that fan-out: no Query for parents either way.
    const links = raw[PARENT_LINKS];
    const noOtherParent = typeof links === 'number' && (links === 0 || (links === 1 && propagated));
    if (summaryChanged && !parentsCurrent && !noOtherParent) await this.refreshParentsOf(orgId, type, after.id, newSummary, propagated ? by : undefined);
    const valuesChanged = !isDeepStrictEqual(before.values, after.values);
    // A connect bumps only the edge sequence: nothing to carry anywhere.
    if (!summaryChanged && !valuesChanged) return;
    const def = await this.definition(orgId, type, newSummary.containerId);
    const outgoing: Connection[] = def?.outgoing ?? [];
    // Children exist only through outgoing connections: without any there is nobody to tell.
    if (!outgoing.length) return;
    const childFields = await this.childFieldsOf(orgId, outgoing);
    const plan = planChildUpdates(before.values, after.values, outgoing, def?.fields ?? [], (c) => childFields.get(c.id) ?? []);
    if (!summaryChanged && plan.size === 0) return;
    await this.fanOut(orgId, type, after.id, after.version, oldSummary);
  }

  private async childFieldsOf(orgId: string, outgoing: Connection[]) {
    const fields = new Map<string, Field[]>();
    for (const connection of outgoing) {
      if (connection.fieldMap.some((e) => e.sync)) {
        const def = await this.definition(orgId, connection.child.type === 'pipe' ? 'card' : 'record', connection.child.id);
        fields.set(connection.id, def?.fields ?? []);
      }
    }
    return fields;
  }

  /** The state a parent's children hold of it: every synced value (not only the changed ones), and its summary. */
  private async stateOf(orgId: string, type: ItemType, parent: AnyItem): Promise<ParentState> {
    const summary = summaryOfItem(type, parent);
    const def = await this.definition(orgId, type, summary.containerId);
    const outgoing = def?.outgoing ?? [];
    const childFields = await this.childFieldsOf(orgId, outgoing);
    const values: ParentState['values'] = {};
    for (const connection of outgoing) {
      const out = syncedValues(parent.values, connection, def?.fields ?? [], childFields.get(connection.id) ?? []);
      if (Object.keys(out).length) values[connection.id] = out;
    }
    return { version: parent.version, summary, values };
  }

  /**
   * Carries a parent's change of version `version` to its children, coalesced: if the children
   * already got this version or a newer one, nothing; if a fan-out of this parent is in flight
   * (or was cut short), it is resumed and takes the newest state over; if the parent fanned out
   * moments ago (a burst of edits), the job is stored waiting for the parent to be quiet (a
   * delayed wake-up, not a sleep here: see waitForQuiet and wake) and then writes the last state
   * once. `before` is the parent's summary before the change (does the children's copy change?).
   */
  async fanOut(orgId: string, parentType: ItemType, parentId: string, version: number, before: ItemSummary): Promise<void> {
    const [mark, existing] = await Promise.all([this.getMark(orgId, parentId), this.getJob(orgId, parentId)]);
    if (mark && mark.version >= version) {
      // A job that reached its end but died before it was removed (a waiting one has not run yet).
      if (existing && !existing.wait && existing.state.version <= mark.version) await this.deleteJob(existing, existing.step);
      return;
    }
    await this.hook('fanout.begin', { parentId });
    // Waiting: its wake-up takes the parent's newest state, this version included.
    if (existing?.wait) return this.stillWaiting(existing, existing.wait);
    if (existing) return this.run(existing);
    const parent = await this.store.items.get<AnyItem>(orgId, parentType, parentId);
    if (!parent) return;
    const state = await this.stateOf(orgId, parentType, parent);
    const summary = summaryDiffers(mark?.summary ?? before, state.summary);
    const job: FanOutJob = { orgId, parentType, parentId, state, summary, step: 0 };
    // A burst of edits to a parent with many children: wait until it is quiet, outside this batch (see waitForQuiet).
    if (mark && Date.now() - mark.at < this.tuning.hotMs && (await this.childCount(orgId, parentType, parentId)) > this.tuning.coalesceAbove)
      return this.waitForQuiet(job, parent.version);
    await this.run(job);
  }

  /** The parent's children over all its connections, from its count items (never its edges); read only for a hot parent. */
  private async childCount(orgId: string, parentType: ItemType, parentId: string): Promise<number> {
    const core = await this.store.items.getCore(orgId, parentType, parentId);
    return Object.values(core?.counts ?? {}).reduce((sum, n) => sum + n, 0);
  }

  /**
   * A legacy job's record: its children past the cursor may lack that version, so unless the mark
   * shows a full pass at it or later, the parent's current state goes to every child (version
   * guards skip the ones that hold it); then the legacy item is removed.
   */
  async resumeLegacy(job: LegacyPropagationJob, key: { PK: string; SK: string }): Promise<void> {
    const mark = await this.getMark(job.orgId, job.parentId);
    if (!mark || mark.version < job.parentVersion) {
      const parent = await this.store.items.get<AnyItem>(job.orgId, job.parentType, job.parentId);
      if (parent) {
        const existing = await this.getJob(job.orgId, job.parentId);
        if (existing) await this.run(existing);
        // The summaries too: what the children hold of the parent is unknown.
        else
          await this.run({
            orgId: job.orgId,
            parentType: job.parentType,
            parentId: job.parentId,
            state: await this.stateOf(job.orgId, job.parentType, parent),
            summary: true,
            step: 0,
          });
      }
    }
    await this.doc.send(new DeleteCommand({ TableName: this.store.table, Key: key }));
  }

  /**
   * Continues a job handed over by its own stream record: runs it, or, for a waiting job, sends
   * its wake-up (a retried record sends it again; a duplicate wake-up does nothing twice).
   */
  async resume(job: FanOutJob): Promise<void> {
    const current = await this.getJob(job.orgId, job.parentId);
    // Finished meanwhile, or taken further by another runner: nothing to do here.
    if (!current || current.step !== job.step) return;
    if (current.wait) {
      // Only the record of the wait in place sends: an older one's message would be a spare.
      if (job.wait?.n === current.wait.n) await this.sendWake(current, current.wait);
      return;
    }
    // The record of a wait since handed over: the hand-over's own record runs the job.
    if (job.wait) return;
    await this.run(current);
  }

  /**
   * A hot parent's fan-out waits for quiet without holding this batch: the job is stored waiting
   * (from the current step, under the step guard), its wake-up is due in quietMs, and the job's
   * own stream record sends it (handoff bumped). Edits meanwhile find the job waiting and return.
   */
  private async waitForQuiet(job: FanOutJob, parentVersion: number): Promise<void> {
    const now = Date.now();
    const next: FanOutJob = {
      ...job,
      step: job.step + 1,
      handoff: (job.handoff ?? 0) + 1,
      wait: { n: 1, version: parentVersion, since: now, due: now + this.tuning.quietMs },
    };
    delete next.cursor;
    if (!this.options.wakeups) throw new Error('A hot parent must wait for quiet, and no wake-up queue is configured (FANOUT_QUEUE_URL)');
    if (!(await this.saveJob(next, job.step))) return this.lost(job);
    await this.hook('fanout.waiting', next);
  }

  /** A record of the parent found its job waiting: nothing to do, unless the wake-up was lost (then another is scheduled). */
  private async stillWaiting(job: FanOutJob, wait: FanOutWait): Promise<void> {
    if (Date.now() < wait.due + this.tuning.lostAfterMs) return;
    const parent = await this.store.items.get<AnyItem>(job.orgId, job.parentType, job.parentId);
    await this.rewait(job, wait, parent?.version ?? wait.version);
  }

  private async sendWake(job: FanOutJob, wait: FanOutWait): Promise<void> {
    if (!this.options.wakeups) throw new Error('No wake-up queue is configured (FANOUT_QUEUE_URL)');
    await this.hook('fanout.send', job);
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((wait.due - Date.now()) / 1000)));
    await this.options.wakeups.send({ orgId: job.orgId, parentId: job.parentId }, delaySeconds);
  }

  /**
   * A wake-up (the delay queue's consumer) for the job of `parentId`: if the parent is unchanged
   * since the wait last looked (quiet for quietMs), or the wait is older than maxWaitMs, the job is
   * handed to its stream record to run (wait removed, handoff bumped); otherwise it waits on,
   * another quietMs. Both are one write conditional on the wait read, so a duplicate or late
   * message does nothing twice; a message for a job that no longer waits does nothing.
   */
  async wake(orgId: string, parentId: string): Promise<WakeOutcome> {
    const job = await this.getJob(orgId, parentId);
    const wait = job?.wait;
    if (!job || !wait) return { outcome: 'stale' };
    const now = Date.now();
    if (now < wait.due - EARLY_TOLERANCE_MS) return { outcome: 'early', dueInSeconds: Math.min(MAX_DELAY_SECONDS, Math.ceil((wait.due - now) / 1000)) };
    const parent = await this.store.items.get<AnyItem>(orgId, job.parentType, parentId);
    const quiet = !parent || parent.version === wait.version || now - wait.since >= this.tuning.maxWaitMs;
    await this.hook('fanout.wake', job);
    const done = quiet ? await this.handOver(job, wait) : await this.rewait(job, wait, parent.version);
    if (!done) return { outcome: 'stale' };
    await this.hook('fanout.woken', job);
    return { outcome: quiet ? 'handed' : 'rescheduled' };
  }

  /** Waits another quietMs from now (a new wake-up, sent by the job's record); false if the wait read is gone. */
  private async rewait(job: FanOutJob, wait: FanOutWait, parentVersion: number): Promise<boolean> {
    const now = Date.now();
    const next: FanOutWait = { ...wait, n: wait.n + 1, version: parentVersion, due: now + this.tuning.quietMs };
    return this.updateWait(job, wait, 'SET job.#wait = :wait, job.handoff = :handoff', { ':wait': next });
  }

  /** Ends the wait: the job becomes a running one at the next step, and its record runs it (resume). */
  private async handOver(job: FanOutJob, wait: FanOutWait): Promise<boolean> {
    return this.updateWait(job, wait, 'SET step = :next, job.step = :next, job.again = :false, job.handoff = :handoff REMOVE job.#wait', {
      ':next': job.step + 1,
      ':false': false,
    });
  }

  private async updateWait(job: FanOutJob, wait: FanOutWait, update: string, values: Record<string, unknown>): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.store.table,
          Key: keys.fanOut(job.orgId, job.parentId),
          UpdateExpression: update,
          ConditionExpression: 'step = :step AND job.#wait.n = :n',
          // WAIT is a DynamoDB reserved word.
          ExpressionAttributeNames: { '#wait': 'wait' },
          ExpressionAttributeValues: { ...values, ':step': job.step, ':n': wait.n, ':handoff': (job.handoff ?? 0) + 1 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Pages through the parent's child edges from the job's cursor, a chunk at a time, writing each
   * child with bounded concurrency and storing the cursor after each chunk; continues in this
   * invocation while time allows, else hands the job to its stream record. Before each chunk it
   * reads the parent: a newer state replaces the job's for the rest, and the children already
   * passed get a second visit once the parent is quiet.
   */
  private async run(job: FanOutJob): Promise<void> {
    const { orgId } = job;
    // A waiting job runs only once a wake-up hands it over.
    if (job.wait) return;
    const pageAt = (cursor: Item | undefined) =>
      queryPage(this.doc, {
        TableName: this.store.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': itemPk(orgId, job.parentType, job.parentId), ':prefix': EDGE_PREFIX.child },
        ConsistentRead: true,
        Limit: this.tuning.chunk,
        ExclusiveStartKey: cursor,
      });
    // The next page of edges, read while the current chunk is written (edges do not depend on the
    // state written; a page read a moment early misses only edges connected meanwhile, which the
    // connect syncs itself).
    let prefetched: { cursor: Item; page: ReturnType<typeof pageAt> } | undefined;
    for (;;) {
      await this.hook('fanout.chunk', job);
      const parent = await this.store.items.get<AnyItem>(orgId, job.parentType, job.parentId);
      if (!parent) {
        await this.deleteJob(job);
        return;
      }
      // The second pass waits until the parent is quiet (a wake-up, not here), unless it has few children.
      if (!job.cursor && job.again && (await this.childCount(orgId, job.parentType, job.parentId)) > this.tuning.coalesceAbove)
        return this.waitForQuiet(job, parent.version);
      if (parent.version > job.state.version) {
        const state = await this.stateOf(orgId, job.parentType, parent);
        const summaryMoved = summaryDiffers(job.state.summary, state.summary);
        if (job.cursor && (summaryMoved || !isDeepStrictEqual(job.state.values, state.values))) job.again = true;
        job = { ...job, state, summary: job.summary || summaryMoved };
      }
      if (!job.cursor) job.again = false;
      const reuse = prefetched && job.cursor && isDeepStrictEqual(prefetched.cursor, job.cursor) ? prefetched.page : undefined;
      prefetched = undefined;
      const page = await (reuse ?? pageAt(job.cursor));
      if (page.lastKey) {
        const cursor = page.lastKey;
        prefetched = { cursor, page: pageAt(cursor) };
        // Awaited (or dropped) at the next chunk; a failure there is read again, not unhandled here.
        prefetched.page.catch(() => undefined);
      }
      const current = job;
      const edges = page.items.filter((e) => current.summary || current.state.values[e['connectionId'] as string]);
      await eachLimited(edges, this.tuning.concurrency, (edge) => this.writeChild(current, edge));
      const next: FanOutJob = { ...job, step: job.step + 1 };
      if (page.lastKey) next.cursor = page.lastKey;
      else delete next.cursor;
      if (!page.lastKey && !job.again) {
        await this.finish(next, job.step);
        return;
      }
      const outOfTime = this.remaining() < this.tuning.marginMs;
      if (outOfTime) next.handoff = (job.handoff ?? 0) + 1;
      // Another runner stored this step first: it carries on, this one stops (see lost()).
      if (!(await this.saveJob(next, job.step))) return this.lost(job);
      await this.hook('fanout.saved', next);
      if (outOfTime) return;
      job = next;
    }
  }

  /**
   * One child: its copy of the parent's summary, its synced values (a write that says it came
   * from propagation and bumps the child's version, so its own record carries the change on to
   * its children), and — from the edge page already in hand — the parent's copy of the child's
   * summary when the values retitled it.
   */
  private async writeChild(job: FanOutJob, edge: Item) {
    const { orgId } = job;
    const childId = edge['childId'] as string;
    const connectionId = edge['connectionId'] as string;
    const childType = itemTypeOf(childId);
    await this.hook('fanout.child', job);
    const writes: Promise<unknown>[] = [];
    if (job.summary) {
      writes.push(this.store.connections.refreshSummaries([keys.parentEdge(itemPk(orgId, childType, childId), connectionId, job.parentId)], job.state.summary));
    }
    const values = job.state.values[connectionId];
    if (values) {
      writes.push(
        this.syncChild(orgId, childType, childId, (edge['summary'] as ItemSummary).containerId, connectionId, job, values).then(async (child) => {
          if (!child) return;
          const summary = summaryOfItem(childType, child);
          if (summaryDiffers(edge['summary'] as ItemSummary, summary)) {
            await this.store.connections.refreshSummaries([{ PK: edge['PK'] as string, SK: edge['SK'] as string }], summary);
          }
        }),
      );
    }
    await Promise.all(writes);
  }

  /**
   * This runner lost the race to store its next step. Usually another runner holds the job and
   * carries on; but a runner of an older state may have finished and removed the job, leaving
   * children before this chunk at that older state: then this newer state starts a pass of its own.
   */
  private async lost(job: FanOutJob): Promise<void> {
    const [mark, current] = await Promise.all([this.getMark(job.orgId, job.parentId), this.getJob(job.orgId, job.parentId)]);
    if (current || (mark && mark.version >= job.state.version)) return;
    await this.run({ orgId: job.orgId, parentType: job.parentType, parentId: job.parentId, state: job.state, summary: job.summary, step: 0 });
  }

  /** Parents hold a summary of this item in their child edges (but the one a propagated write came from, already refreshed). */
  private async refreshParentsOf(orgId: string, type: ItemType, id: string, summary: ItemSummary, except?: { parentId?: string; connectionId?: string }) {
    const parents = await queryAll(this.doc, {
      TableName: this.store.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: {
        ':pk': itemPk(orgId, type, id),
        ':prefix': EDGE_PREFIX.parent,
        ...(except ? { ':p': except.parentId, ':c': except.connectionId } : {}),
      },
      ...(except ? { FilterExpression: 'parentId <> :p OR connectionId <> :c' } : {}),
      ProjectionExpression: 'connectionId, parentId',
    });
    await this.store.connections.refreshSummaries(
      parents.map((p) => keys.childEdge(itemPk(orgId, itemTypeOf(p['parentId'] as string), p['parentId'] as string), p['connectionId'] as string, id)),
      summary,
    );
  }

  private async getMark(orgId: string, parentId: string): Promise<FanOutMark | undefined> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.store.table, Key: keys.fanOutMark(orgId, parentId), ConsistentRead: true }));
    return item
      ? { version: item['version'] as number, at: item['at'] as number, ...(item['summary'] ? { summary: item['summary'] as ItemSummary } : {}) }
      : undefined;
  }

  private async getJob(orgId: string, parentId: string): Promise<FanOutJob | undefined> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.store.table, Key: keys.fanOut(orgId, parentId), ConsistentRead: true }));
    return item ? (item['job'] as FanOutJob) : undefined;
  }

  /** Stores the job's next step; false when another runner stored it first. */
  private async saveJob(job: FanOutJob, previousStep: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.store.table,
          Key: keys.fanOut(job.orgId, job.parentId),
          UpdateExpression: 'SET entity = :entity, orgId = :org, job = :job, step = :step, expiresAt = :ttl',
          ConditionExpression: previousStep > 0 ? 'step = :previous' : 'attribute_not_exists(PK) OR step = :previous',
          ExpressionAttributeValues: {
            ':entity': ENTITY.propagationJob,
            ':org': job.orgId,
            ':job': job,
            ':step': job.step,
            ':previous': previousStep,
            ':ttl': Math.floor(Date.now() / 1000) + 7 * 24 * 3600,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Every child has the job's state: mark the version (later records of older versions skip) and drop the job. */
  private async finish(job: FanOutJob, previousStep: number) {
    await this.doc
      .send(
        new PutCommand({
          TableName: this.store.table,
          Item: {
            ...keys.fanOutMark(job.orgId, job.parentId),
            entity: ENTITY.fanOutMark,
            orgId: job.orgId,
            version: job.state.version,
            at: Date.now(),
            summary: job.state.summary,
            expiresAt: Math.floor(Date.now() / 1000) + 7 * 24 * 3600,
          },
          ConditionExpression: 'attribute_not_exists(version) OR version < :v',
          ExpressionAttributeValues: { ':v': job.state.version },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
    await this.hook('fanout.done', job);
    // A job that never stored a step has no item to delete.
    if (previousStep > 0) await this.deleteJob(job, previousStep);
  }

  private async deleteJob(job: FanOutJob, step?: number) {
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.store.table,
          Key: keys.fanOut(job.orgId, job.parentId),
          ...(step !== undefined ? { ConditionExpression: 'attribute_not_exists(PK) OR step = :s', ExpressionAttributeValues: { ':s': step } } : {}),
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /**
   * Writes the parent's synced values into one child, unless it already holds them or already
   * follows a newer version of this parent. Returns the child as written when the write gave it a
   * new title (its summary changed), else null.
   */
  private async syncChild(
    orgId: string,
    type: ItemType,
    childId: string,
    containerId: string,
    connectionId: string,
    job: FanOutJob,
    values: Record<string, unknown>,
  ): Promise<AnyItem | null> {
    const version = job.state.version;
    const names: Record<string, string> = { '#values': 'values', '#sv': syncVersionAttribute(connectionId), '#by': CHANGED_BY };
    const attrValues: Record<string, unknown> = {
      ':pv': version,
      ':one': 1,
      ':now': new Date().toISOString(),
      ':by': { source: PROPAGATION, connectionId, parentId: job.parentId, parentVersion: version },
    };
    const set = ['#sv = :pv', 'version = version + :one', 'updatedAt = :now', '#by = :by'];
    const remove: string[] = [];
    const differs: string[] = [];
    Object.entries(values).forEach(([fieldId, value], i) => {
      names[`#f${i}`] = fieldId;
      if (value === null) {
        remove.push(`#values.#f${i}`);
        differs.push(`attribute_exists(#values.#f${i})`);
      } else {
        attrValues[`:v${i}`] = value;
        set.push(`#values.#f${i} = :v${i}`);
        differs.push(`attribute_not_exists(#values.#f${i}) OR #values.#f${i} <> :v${i}`);
      }
    });
    const def = await this.definition(orgId, type, containerId);
    const titleFieldId = def ? ('pipe' in def ? def.pipe.titleFieldId : def.database.titleFieldId) : undefined;
    const title = titleFieldId && titleFieldId in values ? titleFrom(values[titleFieldId] as never) : undefined;
    if (title) {
      names['#title'] = 'title';
      names['#g2'] = 'GSI2SK';
      attrValues[':title'] = title;
      attrValues[':g2'] = gsi2.titleSortKey(normalizeTitle(title), childId);
      set.push('#title = :title', '#g2 = :g2');
    }
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.store.table,
          Key: type === 'card' ? keys.card(orgId, childId) : keys.record(orgId, childId),
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: `attribute_exists(PK) AND (attribute_not_exists(#sv) OR #sv < :pv) AND (${differs.join(' OR ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: attrValues,
          // The child as written only matters when its summary (its title) changed: else nothing
          // comes back (no item to send, parse and unmarshall per child).
          ReturnValues: title ? 'ALL_NEW' : 'NONE',
        }),
      );
      this.childrenWritten++;
      return title ? strip<AnyItem>(result.Attributes as Item) : null;
    } catch (error) {
      // Already current, newer, or gone: nothing to do.
      if (!isConditionFailure(error)) throw error;
      return null;
    }
  }
}
