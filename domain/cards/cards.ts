/** Card use cases: create in the start phase, update values, move under the connection rules, list, delete. */
import { deleteItem } from '../connections/cascade';
import { automationMark, nowIso, type UseCaseContext } from '../kernel/context';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '../kernel/errors';
import {
  connectionFieldSteps,
  recentContainerDefinition,
  createSteps,
  headerView,
  missingFields,
  parentSummarySteps,
  readHeader,
  runSteps,
  summaryOf,
  splitValuesChecked,
  type Step,
} from '../connections/edges';
import { brokenMoveRules } from '../connections/rules';
import { newId } from '../kernel/ids';
import { applyPatch, assertItemSize, checkPatchProblems, deriveTitle, invalidValues, ProblemList } from '../items/item-values';
import { updateItemValuesCounted } from '../items/item-update';
import type { Card } from './model';
import type { Page } from '../kernel/model';
import type { PipeDefinition } from '../pipes/model';
import { loadPipe } from '../pipes/pipes';
import { strip } from '../pipes/store';
import { listItems, type RawListQuery } from '../items/query';
import { fromHeader, touchesConnections, withConnectionIds } from '../items/views';

const UNTITLED = 'Untitled card';

/** An automation's write carries its mark on the item; a user's carries none. */
const withMark = (ctx: UseCaseContext) => {
  const mark = automationMark(ctx);
  return mark ? { changedBy: mark } : {};
};
const MOVE_ATTEMPTS = 5;
/** Parents whose summary of a moved card is refreshed in its transaction; any beyond, the stream refreshes. */
const MOVE_PARENT_REFRESH = 90;

/** A card as clients see it, in a stable, readable key order. */
export function cardView(card: Card) {
  return {
    id: card.id,
    pipeId: card.pipeId,
    phaseId: card.phaseId,
    title: card.title,
    finished: card.finishedAt !== undefined,
    ...(card.finishedAt ? { finishedAt: card.finishedAt } : {}),
    values: card.values,
    phaseHistory: card.phaseHistory,
    version: card.version,
    createdBy: card.createdBy,
    createdAt: card.createdAt,
    updatedAt: card.updatedAt,
  };
}

function checkVersion(card: Card, ifMatch: number | undefined) {
  if (ifMatch !== undefined && ifMatch !== card.version) {
    throw new PreconditionFailedError(`Card ${card.id} is at version ${card.version}, not ${ifMatch}`, { currentVersion: card.version });
  }
}

/** After a refused conditional write: gone (404) or changed (412)? */
async function refusedWrite(ctx: UseCaseContext, cardId: string): Promise<never> {
  const current = await ctx.store.items.get<Card>(ctx.principal.orgId, 'card', cardId);
  if (!current) throw new NotFoundError('Card', cardId);
  throw new PreconditionFailedError(`Card ${cardId} changed meanwhile (now version ${current.version})`, { currentVersion: current.version });
}

/**
 * Builds a new card for the start phase and the writes that create it with its connection-field
 * children. `preset` values (auto-fill from a parent) sit under the request's own values.
 */
export async function prepareCard(
  ctx: UseCaseContext,
  def: PipeDefinition,
  input: { title?: string; values?: Record<string, unknown> },
  preset: Record<string, unknown> = {},
  /** A caller-chosen id (an automation derives it from its trigger, so a replay cannot create a second card). */
  id: string = newId('card'),
): Promise<{ card: Card; steps: Step[] }> {
  const now = nowIso(ctx);
  // One pass: every problem of the request in one 422 (bad values, connection fields, the start form).
  const problems = new ProblemList();
  const { plain, connections } = splitValuesChecked(def.fields, input.values, problems);
  const checked = checkPatchProblems(def.fields, { ...preset, ...plain });
  if (checked.problems.length) problems.add(invalidValues(checked.problems));
  const values = applyPatch({}, checked.values);
  const startPhaseId = def.pipe.phaseOrder[0]!;
  const startPhase = def.phases.find((p) => p.id === startPhaseId);
  const card: Card = {
    id,
    pipeId: def.pipe.id,
    phaseId: startPhaseId,
    title: deriveTitle(def.pipe.titleFieldId, values, input.title, undefined, UNTITLED),
    values,
    ...(startPhase?.done ? { finishedAt: now } : {}),
    phaseHistory: [{ phaseId: startPhaseId, enteredAt: now }],
    version: 1,
    createdBy: ctx.principal.userId,
    createdAt: now,
    updatedAt: now,
    ...withMark(ctx),
  };
  await problems.run(() => assertItemSize(card, 'The card'), undefined);
  const linked = await problems.run(() => connectionFieldSteps(ctx, def.fields, def.outgoing, 'card', card, null, connections, now), {
    steps: [],
    // A connection field whose change could not be planned counts as set: its problem is reported already.
    counts: Object.fromEntries([...connections.keys()].map((id) => [def.fields.find((f) => f.id === id)?.connectionId ?? id, 1])),
  });
  const startForm = def.fields.filter((f) => (f.phaseId ?? null) === null);
  const missing = missingFields(startForm, values, linked.counts, 'startForm.requiredFieldMissing').filter((m) => !problems.has(m.path));
  if (missing.length)
    problems.add(new ValidationError(`The start form needs: ${missing.map((m) => m.message).join('; ')}`, missing, 'card.startFormIncomplete'));
  problems.throwIfAny();
  return { card, steps: [...createSteps(ctx, 'card', card), ...linked.steps] };
}

export async function createCard(ctx: UseCaseContext, pipeId: string, input: { title?: string; values?: Record<string, unknown> }) {
  const def = await loadPipe(ctx, pipeId);
  const { card, steps } = await prepareCard(ctx, def, input);
  await runSteps(ctx, steps);
  const [view] = await withConnectionIds(
    ctx,
    'card',
    def.fields,
    [{ view: cardView(card), ...(touchesConnections(def.fields, input.values) ? {} : { counts: {} }) }],
    { consistent: true },
  );
  return view!;
}

/** The card with its parents and children grouped by connection, from one Query. */
export async function getCard(ctx: UseCaseContext, cardId: string) {
  const header = await readHeader<Card>(ctx, 'card', cardId);
  // A container gone meanwhile shows no connection fields rather than failing the read.
  // Only which connection fields to show: a cached definition (up to max age old) will do.
  const fields = async () => (await recentContainerDefinition(ctx, 'card', header.item.pipeId).catch(() => null))?.definition.fields ?? [];
  const [view] = await withConnectionIds(ctx, 'card', fields, [{ view: cardView(header.item), ...fromHeader(header) }], { consistent: true });
  return { ...view!, ...headerView(header) };
}

export async function updateCard(ctx: UseCaseContext, cardId: string, input: { title?: string; values?: Record<string, unknown> }, ifMatch?: number) {
  const { item, counts, fields } = await updateItemValuesCounted<Card>(ctx, 'card', cardId, input, ifMatch, UNTITLED);
  const [view] = await withConnectionIds(ctx, 'card', fields, [{ view: cardView(item), counts }], { consistent: true });
  return view!;
}

/** The card as it is after entering `phaseId` at `now`. */
export function enterPhase(card: Card, def: PipeDefinition, phaseId: string, now: string): Card {
  const target = def.phases.find((p) => p.id === phaseId)!;
  const history = card.phaseHistory.map((visit, i, all) => (i === all.length - 1 && !visit.leftAt ? { ...visit, leftAt: now } : visit));
  const { finishedAt: _previous, ...rest } = card;
  return {
    ...rest,
    phaseId,
    phaseHistory: [...history, { phaseId, enteredAt: now }],
    ...(target.done ? { finishedAt: card.finishedAt ?? now } : {}),
    version: card.version + 1,
    updatedAt: now,
  };
}

export async function moveCard(ctx: UseCaseContext, cardId: string, phaseId: string, ifMatch?: number) {
  for (let attempt = 1; ; attempt++) {
    // The card, its counts and its parents (whose copies of its summary the move refreshes): never its children.
    const core = await ctx.store.items.getCore<Card>(ctx.principal.orgId, 'card', cardId, true);
    if (!core) throw new NotFoundError('Card', cardId);
    const card = core.item;
    checkVersion(card, ifMatch);
    const def = await loadPipe(ctx, card.pipeId);
    const target = def.phases.find((p) => p.id === phaseId);
    if (!target) {
      throw new ValidationError(`Phase ${phaseId} is not a phase of pipe ${card.pipeId}`, [
        { path: 'body.phaseId', message: `${phaseId} is not a phase of this card's pipe`, code: 'phase.unknown' },
      ]);
    }
    // The answer shows the card's connection fields; its edges are what the read counted.
    const answer = async (c: Card) =>
      (await withConnectionIds(ctx, 'card', def.fields, [{ view: cardView(c), counts: core.counts }], { consistent: true }))[0]!;
    if (phaseId === card.phaseId) return answer(card);
    const phaseName = def.phases.find((p) => p.id === card.phaseId)?.name ?? card.phaseId;
    const missing = missingFields(
      def.fields.filter((f) => f.phaseId === card.phaseId),
      card.values,
      core.counts,
      'phase.requiredFieldMissing',
    );
    if (missing.length) {
      throw new ValidationError(
        `The card cannot leave ${phaseName} until these are filled: ${missing.map((m) => m.message).join('; ')}`,
        missing,
        'card.requiredFieldsMissing',
      );
    }
    const broken = await brokenMoveRules(ctx, core, def.outgoing, target.done);
    if (broken.length) {
      throw new ValidationError(`The card cannot move to ${target.name}: ${broken.map((p) => p.message).join('; ')}`, broken, 'card.connectionRulesUnmet');
    }
    const moved: Card = { ...enterPhase(card, def, phaseId, nowIso(ctx)), ...withMark(ctx) };
    const [update, phaseOpen] = ctx.store.items.moveItems(ctx.principal.orgId, moved, card.version, core.parents.length <= MOVE_PARENT_REFRESH);
    try {
      await runSteps(ctx, [
        { item: update!, fail: () => new PreconditionFailedError('stale') },
        { item: phaseOpen!, fail: () => new ConflictError(`Phase ${phaseId} is being deleted`, 'phase.closing') },
        ...parentSummarySteps(ctx, core.parents.slice(0, MOVE_PARENT_REFRESH), summaryOf('card', moved), () => new PreconditionFailedError('stale')),
      ]);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      // Someone changed the card between our read and our write.
      if (ifMatch !== undefined) return refusedWrite(ctx, cardId);
      if (attempt >= MOVE_ATTEMPTS) throw new ConflictError(`Card ${cardId} keeps changing; try again`, 'resource.concurrentChange');
      continue;
    }
    return answer(moved);
  }
}

/** 204 when done in one transaction; a job (202) when the cascade is larger (domain/connections/cascade.ts). */
export async function deleteCard(ctx: UseCaseContext, cardId: string, ifMatch?: number) {
  return deleteItem(ctx, 'card', cardId, ifMatch);
}

/**
 * Cards of a pipe: phase by phase in phase order, creation order within a phase, unless the
 * query filters, sorts or syncs (domain/items/query.ts says which index each one reads).
 */
export async function listCards(ctx: UseCaseContext, pipeId: string, query: RawListQuery): Promise<Page<ReturnType<typeof cardView>>> {
  const def = await loadPipe(ctx, pipeId);
  const page = await listItems(ctx, { type: 'card', id: pipeId, phases: def.pipe.phaseOrder }, def.fields, query, (item) => cardView(strip<Card>(item)));
  return {
    ...page,
    items: await withConnectionIds(
      ctx,
      'card',
      def.fields,
      page.items.map((view) => ({ view })),
      { consistent: false },
    ),
  };
}
