/**
 * Running automations from the table's stream, exactly once in effect.
 *
 * - Every firing has a trigger key that a replay or a retry reproduces: the card and the version
 *   its write produced (`card_…#v000000000007`), or for children.all_finished the parent, the
 *   connection and the set of finished children (so two children finishing at once fire one run).
 * - The first delivery claims a run item under (automation, trigger key) with a conditional Put;
 *   later deliveries find it. A run that is done or skipped is not run again.
 * - create_connected_card creates the child with an id fixed at claim time and derived from the
 *   automation and the trigger key, under `attribute_not_exists`: a retry after a crash between
 *   the create and the run's "done" finds the child and creates no second one.
 * - move_card and set_field are idempotent by target state: moving to the phase the card is in,
 *   or setting the value it holds, writes nothing.
 *
 * Who wrote: every write an automation makes (create, move, set field) carries a mark on the item,
 * `changedBy: {source: 'automation', automationId, depth, chainId}`, set by the store from the
 * runner's principal, never from a token (a token's `sub` cannot claim the `automation:`
 * namespace either). Writes made by propagation never trigger automations; an automation's own
 * write does not trigger the same automation again.
 *
 * Limits, each refusal recorded on the run as `skipped` with its code and reason (GET …/runs):
 * - depth: a chain of automation runs stops after MAX_CHAIN_DEPTH generations
 *   (`automation.loopGuard`);
 * - loop guard: one automation fires at most LOOP_GUARD.firings times for one card per hour
 *   (`automation.loopGuard`);
 * - breadth, for runs that create cards (AUTOMATION_LIMITS): at most `createsPerChange` creations
 *   from one triggering change (`automation.breadthLimit`), at most `createsPerChain` from one
 *   user write and everything it set off (`automation.chainLimit`), and at most
 *   `createsPerOrgMinute` in one organization per minute (`automation.orgRateLimit`).
 * Budgets are spent when a run is first claimed, so a replay spends nothing twice; a crash between
 * the claim and the spend lets that one run act unmetered (bounded by one run per crash).
 *
 * A failing action fails the stream record (AutomationFailedError, naming the automation, the
 * card and the reason): it is retried as the stream settings say and then dead-lettered. The
 * run keeps the last error, so the reason can be read back (GET /v1/automations/{id}/runs).
 */
import { createHash } from 'node:crypto';
import type { AutomationStore } from './store';
import type { Automation, AutomationRun } from './model';
import { moveCard, updateCard } from '../cards/cards';
import { createChild } from '../connections/children';
import { RESERVED_SUBJECT_PREFIX } from '../kernel/auth';
import { runAs } from '../kernel/actor';
import type { UseCaseContext } from '../kernel/context';
import { AppError, ConflictError, NotFoundError } from '../kernel/errors';
import { ID_PREFIX } from '../kernel/ids';
import type { Card } from '../cards/model';
import type { Edge } from '../connections/model';
import type { PipeDefinition } from '../pipes/model';
import type { Store } from '../store';

/** At most this many firings of one automation for one card per window: the loop guard. */
export const LOOP_GUARD = { firings: 20, windowSeconds: 3600 } as const;
/** Cards created by automations that create cards … stop after this many generations. */
export const MAX_CHAIN_DEPTH = 8;
/**
 * Breadth limits on cards created by automations. Two automations on each side of A→B and B→A
 * double every generation (511 cards from one POST before these): a chain now ends after
 * `createsPerChain` cards, whatever its shape.
 */
export const AUTOMATION_LIMITS = {
  /** Creations one triggering change (one stream record) may set off. */
  createsPerChange: 5,
  /** Creations one user write and every automation run it set off may make, together. */
  createsPerChain: 20,
  /** Creations per organization per minute, across all automations and chains. */
  createsPerOrgMinute: 300,
  /** How long a chain's budget is kept (chains end within seconds; this outlives retries). */
  chainTtlSeconds: 24 * 3600,
} as const;

/** The parts of a card's stream image automations read. */
export interface CardImage {
  id: string;
  pipeId: string;
  phaseId: string;
  values?: Record<string, unknown>;
  finishedAt?: string;
  version: number;
  updatedAt: string;
  createdBy?: string;
  changedBy?: { source?: string; automationId?: string; depth?: number; chainId?: string };
}

export type StreamEventName = 'INSERT' | 'MODIFY';

/** Who made a write, as far as the item tells; depth counts automation generations. */
export interface Writer {
  source: 'user' | 'propagation' | 'automation';
  automationId?: string;
  depth: number;
  /** The chain an automation's write belongs to (see AutomationActor). */
  chainId?: string;
}

/** The user id automation writes run under, for display (cards they create show it as createdBy). */
export function automationActor(automationId: string, depth: number): string {
  return depth <= 1 ? `${RESERVED_SUBJECT_PREFIX}${automationId}` : `${RESERVED_SUBJECT_PREFIX}${automationId}:${depth}`;
}

/**
 * Who made a write, from the mark the store wrote with it. Only the system sets the automation
 * mark; createdBy is never read here, so no token subject can pose as an automation.
 */
export function writerOf(_eventName: StreamEventName, after: CardImage): Writer {
  const by = after.changedBy;
  if (by?.source === 'propagation') return { source: 'propagation', depth: 0 };
  if (by?.source === 'automation' && by.automationId && by.chainId) {
    return { source: 'automation', automationId: by.automationId, depth: by.depth ?? 1, chainId: by.chainId };
  }
  return { source: 'user', depth: 0 };
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The automations whose card-level trigger this change fires (children.all_finished is separate). Pure. */
export function firedByCardChange(eventName: StreamEventName, before: CardImage | undefined, after: CardImage, automations: Automation[]): Automation[] {
  return automations.filter((automation) => {
    if (!automation.enabled || automation.pipeId !== after.pipeId) return false;
    const { trigger } = automation;
    switch (trigger.type) {
      case 'card.created':
        return eventName === 'INSERT';
      case 'card.entered_phase':
        return eventName === 'MODIFY' && before !== undefined && before.phaseId !== after.phaseId && after.phaseId === trigger.phaseId;
      case 'field.changed':
        return eventName === 'MODIFY' && before !== undefined && !sameValue(before.values?.[trigger.fieldId], after.values?.[trigger.fieldId]);
      default:
        // children.all_finished fires on a child's change, not on the card's own (below).
        return false;
    }
  });
}

/** The change that may finish the last open child of a parent: the card became finished. */
export function cardFinished(eventName: StreamEventName, before: CardImage | undefined, after: CardImage): boolean {
  return eventName === 'MODIFY' && before !== undefined && before.finishedAt === undefined && after.finishedAt !== undefined;
}

/** The card and the version its write produced (padded, so a card's runs list in order). */
export const cardTriggerKey = (card: Pick<CardImage, 'id' | 'version'>) => `${card.id}#v${String(card.version).padStart(12, '0')}`;

/** One key for "these children of this parent are all finished", whichever child's record notices it. */
export function childrenTriggerKey(parentId: string, connectionId: string, childIds: string[]): string {
  const digest = createHash('sha256')
    .update([...childIds].sort().join(','))
    .digest('base64url')
    .slice(0, 22);
  return `${parentId}#${connectionId}#${digest}`;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID-shaped id whose time part is `timeMs` and whose random part is a digest of `seed`: the
 * same seed and time give the same id, and ids still sort by time like newId's.
 */
export function deriveItemId(kind: 'card' | 'record', seed: string, timeMs: number): string {
  let time = '';
  let t = Number.isFinite(timeMs) ? Math.max(0, Math.floor(timeMs)) : 0;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = createHash('sha256').update(seed).digest();
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(bytes[i]!);
  let random = '';
  for (let i = 0; i < 16; i++) {
    random = CROCKFORD[Number(bits & 31n)] + random;
    bits >>= 5n;
  }
  return `${ID_PREFIX[kind]}_${time}${random}`;
}

function describeAction(automation: Automation): string {
  const { action } = automation;
  switch (action.type) {
    case 'create_connected_card':
      return `create a connected card through ${action.connectionId}`;
    case 'move_card':
      return `move the card to ${action.phaseId}`;
    case 'set_field':
      return `set field ${action.fieldId}`;
  }
}

export interface RunFailure {
  automationId: string;
  name: string;
  subjectId: string;
  code: string;
  message: string;
}

/** One or more automations could not act on a stream record; the record fails and is retried, then dead-lettered. */
export class AutomationFailedError extends Error {
  constructor(readonly failures: RunFailure[]) {
    super(failures.map((f) => `Automation "${f.name}" (${f.automationId}) failed for ${f.subjectId}: ${f.message} [${f.code}]`).join('; '));
    this.name = 'AutomationFailedError';
  }
}

export interface RunOutcome {
  automationId: string;
  run: AutomationRun;
  /** The run had been settled by an earlier delivery: nothing was done now. */
  replayed: boolean;
}

interface Firing {
  key: string;
  subjectId: string;
  /** When the triggering write happened: the time part of a derived child id. */
  timeMs: number;
  /** Automation generation of the action's writes (1 for a run triggered by a user's write). */
  depth: number;
  /** The user write that started the chain: this firing's key when a user's write fired it. */
  chainId: string;
  /** For creating runs: how many creations this triggering change has set off before this one (1-based). */
  createOrdinal?: number;
}

/**
 * Runs the automations a batch of stream records triggers. Built once per batch: pipe
 * definitions and each pipe's automations are read once per batch (one GSI1 Query per pipe).
 */
export class AutomationRunner {
  private readonly pipes = new Map<string, Promise<PipeDefinition | null>>();
  private readonly automations = new Map<string, Promise<Automation[]>>();

  constructor(
    private readonly store: Store,
    private readonly repo: AutomationStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private pipe(orgId: string, pipeId: string) {
    const key = `${orgId}|${pipeId}`;
    if (!this.pipes.has(key)) this.pipes.set(key, this.store.containers.loadPipe(orgId, pipeId));
    return this.pipes.get(key)!;
  }

  private automationsOf(orgId: string, pipeId: string) {
    const key = `${orgId}|${pipeId}`;
    if (!this.automations.has(key)) this.automations.set(key, this.repo.allOfPipe(orgId, pipeId));
    return this.automations.get(key)!;
  }

  /** A card was created or changed: runs every automation the change triggers; throws if any failed. */
  async cardChanged(orgId: string, eventName: StreamEventName, before: CardImage | undefined, after: CardImage): Promise<RunOutcome[]> {
    const writer = writerOf(eventName, after);
    if (writer.source === 'propagation') return [];
    const firings: Array<{ automation: Automation; firing: Firing }> = [];
    const notOwn = (a: Automation) => !(writer.source === 'automation' && writer.automationId === a.id);
    const fired = firedByCardChange(eventName, before, after, await this.automationsOf(orgId, after.pipeId)).filter(notOwn);
    for (const automation of fired) {
      const key = cardTriggerKey(after);
      firings.push({
        automation,
        firing: { key, subjectId: after.id, timeMs: Date.parse(after.updatedAt), depth: writer.depth + 1, chainId: writer.chainId ?? key },
      });
    }
    if (cardFinished(eventName, before, after)) firings.push(...(await this.parentsDone(orgId, after, writer)).filter((f) => notOwn(f.automation)));
    // Number the creations this change sets off, in a replay-stable order (automations list by id).
    let creates = 0;
    for (const { automation, firing } of firings) if (automation.action.type === 'create_connected_card') firing.createOrdinal = ++creates;
    const outcomes: RunOutcome[] = [];
    const failures: RunFailure[] = [];
    // Each automation runs even if another failed: one broken automation must not hold back the rest.
    for (const { automation, firing } of firings) {
      try {
        outcomes.push(await this.fire(orgId, automation, firing));
      } catch (error) {
        failures.push(failureOf(automation, firing.subjectId, error));
      }
    }
    if (failures.length) throw new AutomationFailedError(failures);
    return outcomes;
  }

  /**
   * A child finished: for each parent whose pipe has a children.all_finished automation on the
   * child's connection, check (from the summaries the parent's child edges hold, which the
   * propagation step has just refreshed) that every child through it is finished.
   */
  private async parentsDone(orgId: string, child: CardImage, writer: Writer): Promise<Array<{ automation: Automation; firing: Firing }>> {
    const def = await this.pipe(orgId, child.pipeId);
    const watched: Array<{ connectionId: string; automations: Automation[] }> = [];
    for (const connection of def?.incoming ?? []) {
      if (connection.parent.type !== 'pipe') continue;
      const automations = (await this.automationsOf(orgId, connection.parent.id)).filter(
        (a) => a.enabled && a.trigger.type === 'children.all_finished' && a.trigger.connectionId === connection.id,
      );
      if (automations.length) watched.push({ connectionId: connection.id, automations });
    }
    if (!watched.length) return [];
    const parents = await this.repo.parentEdges(orgId, 'card', child.id);
    const firings: Array<{ automation: Automation; firing: Firing }> = [];
    for (const { connectionId, automations } of watched) {
      for (const edge of parents.filter((e: Edge) => e.connectionId === connectionId)) {
        const children = await this.finishedChildren(orgId, edge.parentId, connectionId);
        if (!children?.includes(child.id)) continue;
        const key = childrenTriggerKey(edge.parentId, connectionId, children);
        const firing: Omit<Firing, 'createOrdinal'> = {
          key,
          subjectId: edge.parentId,
          timeMs: Date.parse(child.updatedAt),
          depth: writer.depth + 1,
          chainId: writer.chainId ?? key,
        };
        for (const automation of automations) firings.push({ automation, firing: { ...firing } });
      }
    }
    return firings;
  }

  /** Every child id through the connection if all are finished; null at the first open one. */
  private async finishedChildren(orgId: string, parentId: string, connectionId: string): Promise<string[] | null> {
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.store.connections.childrenPage(orgId, 'card', parentId, connectionId, 200, startKey);
      for (const edge of page.items) {
        if (!edge.summary.finished) return null;
        ids.push(edge.childId);
      }
      startKey = page.lastKey;
    } while (startKey);
    return ids.length ? ids : null;
  }

  private async fire(orgId: string, automation: Automation, firing: Firing): Promise<RunOutcome> {
    const now = this.clock();
    const at = now.toISOString();
    const { action } = automation;
    const childKind = action.type === 'create_connected_card' ? await this.childKind(orgId, automation.pipeId, action.connectionId) : undefined;
    const childId = childKind ? deriveItemId(childKind, `${automation.id}|${firing.key}`, firing.timeMs) : undefined;
    const claimed = await this.repo.claimRun(
      orgId,
      {
        automationId: automation.id,
        triggerKey: firing.key,
        trigger: automation.trigger.type,
        subjectId: firing.subjectId,
        status: 'running',
        attempts: 0,
        ...(childId ? { childId } : {}),
        createdAt: at,
        updatedAt: at,
      },
      now,
    );
    // A run claimed before its action became a create has no child id yet: the derived one is as stable.
    let run: AutomationRun = claimed.run.childId || !childId ? claimed.run : { ...claimed.run, childId };
    if (run.status === 'done' || run.status === 'skipped') return { automationId: automation.id, run, replayed: true };
    if (claimed.fresh) {
      const refusal = await this.guard(orgId, automation, firing, now);
      if (refusal) {
        run = await this.repo.settleRun(orgId, run, { status: 'skipped', error: { ...refusal, at } }, now);
        return { automationId: automation.id, run, replayed: false };
      }
    }
    try {
      const skipped = await this.act(orgId, automation, run, firing);
      run = await this.repo.settleRun(orgId, run, skipped ? { status: 'skipped', error: { ...skipped, at } } : { status: 'done' }, now);
      return { automationId: automation.id, run, replayed: false };
    } catch (error) {
      const failure = failureOf(automation, run.subjectId, error);
      // The record fails whatever happens here; the run keeps the reason when it can.
      await this.repo
        .settleRun(
          orgId,
          run,
          {
            status: 'failed',
            error: { code: failure.code, message: error instanceof AppError ? failure.message : 'internal error; see the stream processor logs', at },
          },
          now,
        )
        .catch(() => undefined);
      throw error;
    }
  }

  /** Why a fresh run must not act (a loop, or a limit on what automations may create), or undefined. Cheap checks first. */
  private async guard(orgId: string, automation: Automation, firing: Firing, now: Date): Promise<{ code: string; message: string } | undefined> {
    if (firing.depth > MAX_CHAIN_DEPTH) {
      return { code: 'automation.loopGuard', message: `automations have chained ${firing.depth - 1} times; stopped at ${MAX_CHAIN_DEPTH} to break a loop` };
    }
    const creates = automation.action.type === 'create_connected_card';
    if (creates && (firing.createOrdinal ?? 1) > AUTOMATION_LIMITS.createsPerChange) {
      return {
        code: 'automation.breadthLimit',
        message: `one change may set off at most ${AUTOMATION_LIMITS.createsPerChange} card creations; this was number ${firing.createOrdinal}`,
      };
    }
    const seconds = now.getTime() / 1000;
    const windowStart = Math.floor(seconds / LOOP_GUARD.windowSeconds) * LOOP_GUARD.windowSeconds;
    const window = new Date(windowStart * 1000).toISOString().slice(0, 13);
    const spent = await this.repo.spendBudget(orgId, automation.id, firing.subjectId, window, LOOP_GUARD.firings, windowStart + 2 * LOOP_GUARD.windowSeconds);
    if (!spent)
      return {
        code: 'automation.loopGuard',
        message: `fired ${LOOP_GUARD.firings} times for ${firing.subjectId} within ${LOOP_GUARD.windowSeconds / 60} minutes; stopped to break a loop`,
      };
    if (!creates) return undefined;
    const chainSpent = await this.repo.spendChainBudget(
      orgId,
      firing.chainId,
      AUTOMATION_LIMITS.createsPerChain,
      Math.floor(seconds) + AUTOMATION_LIMITS.chainTtlSeconds,
    );
    if (!chainSpent) {
      return {
        code: 'automation.chainLimit',
        message: `automations created ${AUTOMATION_LIMITS.createsPerChain} cards from one change (chain ${firing.chainId}); stopped there`,
      };
    }
    const minute = Math.floor(seconds / 60) * 60;
    const orgSpent = await this.repo.spendOrgBudget(
      orgId,
      new Date(minute * 1000).toISOString().slice(0, 16),
      AUTOMATION_LIMITS.createsPerOrgMinute,
      minute + 120,
    );
    if (!orgSpent) {
      return {
        code: 'automation.orgRateLimit',
        message: `automations created ${AUTOMATION_LIMITS.createsPerOrgMinute} cards in this organization within a minute; try again later`,
      };
    }
    return undefined;
  }

  /** Whether a create makes a card or a record (the connection's child); card if the connection is gone (the action then fails). */
  private async childKind(orgId: string, pipeId: string, connectionId: string): Promise<'card' | 'record'> {
    const connection = (await this.pipe(orgId, pipeId))?.outgoing.find((c) => c.id === connectionId);
    return connection?.child.type === 'database' ? 'record' : 'card';
  }

  /**
   * Does the action. Returns why nothing was done when there is nothing to do: the card is gone,
   * or it already has the one child a single-entry connection allows (it re-entered the phase).
   */
  private async act(orgId: string, automation: Automation, run: AutomationRun, firing: Firing): Promise<{ code: string; message: string } | undefined> {
    const gone = { code: 'automation.subjectGone', message: `card ${run.subjectId} no longer exists` };
    const { depth, chainId } = firing;
    const ctx: UseCaseContext = {
      principal: { orgId, role: 'admin', userId: automationActor(automation.id, depth), automation: { automationId: automation.id, depth, chainId } },
      store: this.store,
    };
    const { action } = automation;
    // Every write of the action (edges included, which carry no automation mark) names the automation.
    return runAs({ type: 'automation', id: automation.id }, async () => {
      try {
        switch (action.type) {
          case 'create_connected_card':
            try {
              await createChild(ctx, 'card', run.subjectId, action.connectionId, {}, run.childId);
            } catch (error) {
              // An earlier attempt created it (the run's "done" did not land): created once.
              if (error instanceof ConflictError && error.code === 'resource.exists') return undefined;
              if (error instanceof ConflictError && error.code === 'connection.limitReached' && error.extra['limit'] === 1) {
                return { code: 'automation.childExists', message: `${run.subjectId} already has its child through ${action.connectionId} (single entry)` };
              }
              throw error;
            }
            return undefined;
          case 'move_card':
            await moveCard(ctx, run.subjectId, action.phaseId);
            return undefined;
          case 'set_field': {
            const card = await this.store.items.get<Card>(orgId, 'card', run.subjectId);
            if (!card) return gone;
            if (sameValue(card.values[action.fieldId], action.value)) return undefined;
            await updateCard(ctx, run.subjectId, { values: { [action.fieldId]: action.value ?? null } });
            return undefined;
          }
        }
      } catch (error) {
        if (error instanceof NotFoundError && error.extra['id'] === run.subjectId) return gone;
        throw error;
      }
    });
  }
}

function failureOf(automation: Automation, subjectId: string, error: unknown): RunFailure {
  // A generic validation code says less than the problem it wraps (connection.unknown, …).
  const code =
    error instanceof AppError ? (error.code === 'validation.invalidInput' && error.errors[0] ? error.errors[0].code : error.code) : 'automation.fault';
  const reason = error instanceof Error ? error.message : String(error);
  return { automationId: automation.id, name: automation.name, subjectId, code, message: `could not ${describeAction(automation)}: ${reason}` };
}
