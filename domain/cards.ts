/** Card use cases: create in the start phase, update values, move, list, delete. */
import { nowIso, type UseCaseContext } from './context';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from './errors';
import { newId } from './ids';
import { applyPatch, checkPatch, deriveTitle, missingRequired } from './item-values';
import type { Card, Page, PipeDefinition } from './model';
import { loadPipe } from './pipes';
import { strip } from './store/containers';
import { decodeCursor, encodeCursor } from './store/cursor';
import { gsi1 } from './store/keys';

const UNTITLED = 'Untitled card';
const MOVE_ATTEMPTS = 5;

export function cardView(card: Card) {
  return { ...card, finished: card.finishedAt !== undefined };
}

async function readCard(ctx: UseCaseContext, cardId: string): Promise<Card> {
  const card = await ctx.store.items.get<Card>(ctx.principal.orgId, 'card', cardId);
  if (!card) throw new NotFoundError('Card', cardId);
  return card;
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

export async function createCard(ctx: UseCaseContext, pipeId: string, input: { title?: string; values?: Record<string, unknown> }) {
  const { orgId, userId } = ctx.principal;
  const def = await loadPipe(ctx, pipeId);
  const startPhaseId = def.pipe.phaseOrder[0]!;
  const values = applyPatch({}, checkPatch(def.fields, input.values));
  const startForm = def.fields.filter((f) => (f.phaseId ?? null) === null);
  const missing = missingRequired(startForm, values, 'startForm.requiredFieldMissing');
  if (missing.length) {
    throw new ValidationError(`The start form needs: ${missing.map((m) => m.message.replace(/ is required$/, '')).join(', ')}`, missing, 'card.startFormIncomplete');
  }
  const now = nowIso(ctx);
  const startPhase = def.phases.find((p) => p.id === startPhaseId);
  const card: Card = {
    id: newId('card'),
    pipeId,
    phaseId: startPhaseId,
    title: deriveTitle(def.pipe.titleFieldId, values, input.title, undefined, UNTITLED),
    values,
    ...(startPhase?.done ? { finishedAt: now } : {}),
    phaseHistory: [{ phaseId: startPhaseId, enteredAt: now }],
    version: 1,
    createdBy: userId,
    createdAt: now,
    updatedAt: now,
  };
  const outcome = await ctx.store.items.create(orgId, 'card', card);
  if (outcome === 'containerGone') throw new NotFoundError('Pipe', pipeId);
  if (outcome === 'phaseClosed') throw new ConflictError(`The start phase of pipe ${pipeId} is being deleted; try again`, 'phase.closing');
  return cardView(card);
}

export async function getCard(ctx: UseCaseContext, cardId: string) {
  return cardView(await readCard(ctx, cardId));
}

export async function updateCard(
  ctx: UseCaseContext,
  cardId: string,
  input: { title?: string; values?: Record<string, unknown> },
  ifMatch?: number,
) {
  const { orgId } = ctx.principal;
  const card = await readCard(ctx, cardId);
  checkVersion(card, ifMatch);
  const def = await loadPipe(ctx, card.pipeId);
  const patch = checkPatch(def.fields, input.values);
  if (input.title !== undefined && def.pipe.titleFieldId) {
    throw new ValidationError('This pipe takes card titles from a field; set that field instead', [
      { path: 'body.title', message: `the title follows field ${def.pipe.titleFieldId}`, code: 'card.titleFromField' },
    ]);
  }
  if (Object.keys(patch).length === 0 && input.title === undefined) return cardView(card);
  const title = deriveTitle(def.pipe.titleFieldId, applyPatch(card.values, patch), input.title, card.title, UNTITLED);
  const titleChange =
    title !== card.title ? { title, indexKeys: { GSI2SK: ctx.store.items.indexKeys(orgId, 'card', { ...card, title }).GSI2SK } } : {};
  const updated = await ctx.store.items.updateValues<Card>(orgId, 'card', cardId, { values: patch, ...titleChange, now: nowIso(ctx) }, ifMatch);
  if (!updated) return refusedWrite(ctx, cardId);
  return cardView(updated);
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
    const card = await readCard(ctx, cardId);
    checkVersion(card, ifMatch);
    const def = await loadPipe(ctx, card.pipeId);
    if (!def.phases.some((p) => p.id === phaseId)) {
      throw new ValidationError(`Phase ${phaseId} is not a phase of pipe ${card.pipeId}`, [
        { path: 'body.phaseId', message: `${phaseId} is not a phase of this card's pipe`, code: 'phase.unknown' },
      ]);
    }
    if (phaseId === card.phaseId) return cardView(card);
    const missing = missingRequired(def.fields.filter((f) => f.phaseId === card.phaseId), card.values, 'phase.requiredFieldMissing');
    if (missing.length) {
      const phaseName = def.phases.find((p) => p.id === card.phaseId)?.name ?? card.phaseId;
      throw new ValidationError(
        `The card cannot leave ${phaseName} until these fields are filled: ${missing.map((m) => m.message.replace(/ is required$/, '')).join(', ')}`,
        missing,
        'card.requiredFieldsMissing',
      );
    }
    const moved = enterPhase(card, def, phaseId, nowIso(ctx));
    const outcome = await ctx.store.items.move(ctx.principal.orgId, moved, card.version);
    if (outcome === 'ok') return cardView(moved);
    if (outcome === 'phaseClosed') throw new ConflictError(`Phase ${phaseId} is being deleted`, 'phase.closing');
    // Someone changed the card between our read and our write.
    if (ifMatch !== undefined) return refusedWrite(ctx, cardId);
    if (attempt >= MOVE_ATTEMPTS) throw new ConflictError(`Card ${cardId} keeps changing; try again`, 'resource.concurrentChange');
  }
}

export async function deleteCard(ctx: UseCaseContext, cardId: string, ifMatch?: number) {
  const deleted = await ctx.store.items.delete<Card>(ctx.principal.orgId, 'card', cardId, ifMatch);
  if (!deleted) {
    if (ifMatch === undefined) throw new NotFoundError('Card', cardId);
    await refusedWrite(ctx, cardId);
  }
}

type ListState = { phase: number; key?: Record<string, unknown> };

/** Cards of one phase, or of the whole pipe phase by phase in phase order; creation order within a phase. */
export async function listCards(ctx: UseCaseContext, pipeId: string, query: { phaseId?: string; limit?: number; cursor?: string }): Promise<Page<ReturnType<typeof cardView>>> {
  const { orgId } = ctx.principal;
  const def = await loadPipe(ctx, pipeId);
  let phases = def.pipe.phaseOrder;
  if (query.phaseId) {
    if (!phases.includes(query.phaseId)) {
      throw new ValidationError(`Phase ${query.phaseId} is not a phase of pipe ${pipeId}`, [
        { path: 'query.phaseId', message: `${query.phaseId} is not a phase of this pipe`, code: 'phase.unknown' },
      ]);
    }
    phases = [query.phaseId];
  }
  const scope = `cards:${orgId}:${pipeId}:${query.phaseId ?? '*'}`;
  const limit = query.limit ?? 50;
  let state: ListState = { phase: 0 };
  if (query.cursor) {
    state = decodeCursor<ListState>(scope, query.cursor, (s) => ({ GSI1PK: gsi1.cardsOfPhase(orgId, pipeId, phases[s.phase] ?? '') }));
    if (!Number.isInteger(state.phase) || state.phase < 0) state = { phase: phases.length };
  }
  const items: Card[] = [];
  while (state.phase < phases.length && items.length < limit) {
    const page = await ctx.store.items.listIndex(gsi1.cardsOfPhase(orgId, pipeId, phases[state.phase]!), limit - items.length, state.key);
    items.push(...page.items.map((i) => strip<Card>(i)));
    state = page.lastKey ? { phase: state.phase, key: page.lastKey } : { phase: state.phase + 1 };
  }
  const more = state.phase < phases.length;
  return { items: items.map(cardView), nextCursor: more ? encodeCursor(scope, state) : null };
}
