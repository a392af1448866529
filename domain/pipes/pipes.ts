/** Pipe use cases: definitions made of ordered phases and typed fields. */
import { nowIso, type UseCaseContext } from '../kernel/context';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '../kernel/errors';
import { assertTitleField, buildField, changeField, fieldView, type FieldChange, type NewFieldInput } from '../fields/field-defs';
import { newId } from '../kernel/ids';
import type { Connection } from '../connections/model';
import type { Field } from '../fields/model';
import type { Phase, Pipe, PipeDefinition } from './model';
import { bumpContainer, strip } from './store';
import { decodeCursor, encodeCursor } from '../kernel/cursor';
import { TransactionCancelled } from '../kernel/dynamo';
import { gsi1, keys } from '../kernel/keys';

/** A field defined inline while creating a pipe: may be the title field. */
export interface NewFieldInlineInput extends Omit<NewFieldInput, 'connectionId'> {
  isTitle?: boolean | undefined;
}

interface PhaseInput {
  name: string;
  description?: string | undefined;
  done?: boolean | undefined;
  fields?: NewFieldInlineInput[] | undefined;
}

export interface CreatePipeInput {
  name: string;
  description?: string | undefined;
  startFormFields?: NewFieldInlineInput[] | undefined;
  /** In order; the first is the start phase. */
  phases?: PhaseInput[] | undefined;
}

const DEFAULT_PHASES: PhaseInput[] = [{ name: 'To do' }, { name: 'Doing' }, { name: 'Done', done: true }];

export function pipeView(def: PipeDefinition) {
  const { pipe } = def;
  const byPhase = (phaseId: string | null) => def.fields.filter((f) => (f.phaseId ?? null) === phaseId).map(fieldView);
  const phases = pipe.phaseOrder.map((id) => def.phases.find((p) => p.id === id)).filter((p): p is Phase => p !== undefined);
  return {
    id: pipe.id,
    name: pipe.name,
    ...(pipe.description ? { description: pipe.description } : {}),
    titleFieldId: pipe.titleFieldId ?? null,
    version: pipe.version,
    createdAt: pipe.createdAt,
    updatedAt: pipe.updatedAt,
    startForm: { fields: byPhase(null) },
    connections: { asParent: def.outgoing, asChild: def.incoming },
    phases: phases.map((p) => ({
      id: p.id,
      name: p.name,
      ...(p.description ? { description: p.description } : {}),
      done: p.done,
      fields: byPhase(p.id),
    })),
  };
}

export function pipeSummary(pipe: Pipe) {
  const { phaseOrder: _order, titleFieldId: _title, ...summary } = pipe;
  return summary;
}

export async function loadPipe(ctx: UseCaseContext, pipeId: string): Promise<PipeDefinition> {
  const def = await ctx.store.containers.loadPipe(ctx.principal.orgId, pipeId);
  if (!def) throw new NotFoundError('Pipe', pipeId);
  return def;
}

/** A container that takes part in connections keeps them from dangling: delete those first. */
export function assertNoConnections(outgoing: Connection[], incoming: Connection[], what: string) {
  const all = [...new Map([...outgoing, ...incoming].map((c) => [c.id, c])).values()];
  if (all.length) {
    throw new ConflictError(
      `${what} takes part in connections ${all.map((c) => `${c.name} (${c.id})`).join(', ')}; delete them first`,
      'container.hasConnections',
      {
        connectionIds: all.map((c) => c.id),
      },
    );
  }
}

function checkVersion(pipe: Pipe, ifMatch: number | undefined) {
  if (ifMatch !== undefined && ifMatch !== pipe.version) {
    throw new PreconditionFailedError(`Pipe ${pipe.id} is at version ${pipe.version}, not ${ifMatch}`, { currentVersion: pipe.version });
  }
}

/** Maps a cancelled definition change to the answer a client can act on. */
function definitionConflict(error: unknown, pipeId: string, ifMatch: number | undefined): never {
  if (error instanceof TransactionCancelled) {
    if (ifMatch !== undefined) throw new PreconditionFailedError(`Pipe ${pipeId} changed meanwhile; read it again`);
    throw new ConflictError(`Pipe ${pipeId} changed meanwhile; try again`, 'resource.concurrentChange');
  }
  throw error;
}

export async function createPipe(ctx: UseCaseContext, input: CreatePipeInput) {
  const { orgId } = ctx.principal;
  const now = nowIso(ctx);
  const pipeId = newId('pipe');
  const phases: Phase[] = [];
  const fields: Field[] = [];
  let titleFieldId: string | undefined;
  const addFields = (list: Array<NewFieldInput & { isTitle?: boolean }> | undefined, phaseId: string | null) => {
    for (const { isTitle, ...fieldInput } of list ?? []) {
      const field = buildField(pipeId, fieldInput, now, phaseId);
      fields.push(field);
      if (isTitle) titleFieldId = field.id;
    }
  };
  addFields(input.startFormFields, null);
  for (const phaseInput of input.phases ?? DEFAULT_PHASES) {
    const phase: Phase = {
      id: newId('phase'),
      pipeId,
      name: phaseInput.name,
      ...(phaseInput.description ? { description: phaseInput.description } : {}),
      done: phaseInput.done ?? false,
      createdAt: now,
      updatedAt: now,
    };
    phases.push(phase);
    addFields(phaseInput.fields, phase.id);
  }
  if (titleFieldId) assertTitleField(fields, titleFieldId, 'body.fields.isTitle');
  const pipe: Pipe = {
    id: pipeId,
    name: input.name,
    ...(input.description ? { description: input.description } : {}),
    phaseOrder: phases.map((p) => p.id),
    ...(titleFieldId ? { titleFieldId } : {}),
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  const c = ctx.store.containers;
  await c.createAll([c.pipeItem(orgId, pipe), ...phases.map((p) => c.phaseItem(orgId, p)), ...fields.map((f) => c.fieldItem(orgId, 'pipe', f))]);
  return pipeView({ pipe, phases, fields, outgoing: [], incoming: [] });
}

export async function listPipes(ctx: UseCaseContext, query: { limit?: number; cursor?: string }) {
  const { orgId } = ctx.principal;
  const scope = `pipes:${orgId}`;
  const partition = gsi1.pipesOfOrg(orgId);
  const start = query.cursor ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ GSI1PK: partition })) : undefined;
  const page = await ctx.store.containers.listContainers(orgId, 'pipe', query.limit ?? 50, start?.key);
  return {
    items: page.items.map((item) => pipeSummary(strip<Pipe>(item))),
    nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null,
  };
}

export async function getPipe(ctx: UseCaseContext, pipeId: string) {
  return pipeView(await loadPipe(ctx, pipeId));
}

export async function updatePipe(
  ctx: UseCaseContext,
  pipeId: string,
  change: { name?: string; description?: string | null; phaseOrder?: string[]; titleFieldId?: string | null },
  ifMatch?: number,
) {
  const { orgId } = ctx.principal;
  const def = await loadPipe(ctx, pipeId);
  checkVersion(def.pipe, ifMatch);
  if (change.phaseOrder) {
    const current = new Set(def.pipe.phaseOrder);
    const proposed = new Set(change.phaseOrder);
    const missing = [...current].filter((id) => !proposed.has(id));
    const unknown = change.phaseOrder.filter((id) => !current.has(id));
    if (missing.length || unknown.length || proposed.size !== change.phaseOrder.length) {
      throw new ValidationError('phaseOrder must list every phase of the pipe exactly once', [
        ...unknown.map((id) => ({ path: 'body.phaseOrder', message: `${id} is not a phase of this pipe`, code: 'phase.unknown' })),
        ...missing.map((id) => ({ path: 'body.phaseOrder', message: `phase ${id} is missing`, code: 'phase.missing' })),
        ...(proposed.size !== change.phaseOrder.length ? [{ path: 'body.phaseOrder', message: 'lists a phase twice', code: 'phase.duplicate' }] : []),
      ]);
    }
  }
  if (change.titleFieldId) assertTitleField(def.fields, change.titleFieldId, 'body.titleFieldId');
  const now = nowIso(ctx);
  const next: Pipe = { ...def.pipe, version: def.pipe.version + 1, updatedAt: now };
  const set: string[] = [];
  const remove: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const assign = (attr: string, value: unknown) => {
    names[`#${attr}`] = attr;
    if (value === null) remove.push(`#${attr}`);
    else {
      set.push(`#${attr} = :${attr}`);
      values[`:${attr}`] = value;
    }
  };
  if (change.name !== undefined) {
    assign('name', change.name);
    next.name = change.name;
  }
  if (change.description !== undefined) {
    assign('description', change.description);
    if (change.description === null) delete next.description;
    else next.description = change.description;
  }
  if (change.phaseOrder) {
    assign('phaseOrder', change.phaseOrder);
    next.phaseOrder = change.phaseOrder;
  }
  if (change.titleFieldId !== undefined) {
    assign('titleFieldId', change.titleFieldId);
    if (change.titleFieldId === null) delete next.titleFieldId;
    else next.titleFieldId = change.titleFieldId;
  }
  try {
    await ctx.store.containers.transact([bumpContainer(orgId, 'pipe', pipeId, ctx.store.table, now, def.pipe.version, { set, remove, names, values })]);
  } catch (error) {
    definitionConflict(error, pipeId, ifMatch);
  }
  return pipeView({ ...def, pipe: next });
}

/** Deletes a pipe only when it has no cards: marked first so no card can arrive while counting. */
export async function deletePipe(ctx: UseCaseContext, pipeId: string, ifMatch?: number) {
  const { orgId } = ctx.principal;
  const def = await loadPipe(ctx, pipeId);
  checkVersion(def.pipe, ifMatch);
  assertNoConnections(def.outgoing, def.incoming, `Pipe ${pipeId}`);
  const automations = await ctx.store.containers.countIndex(gsi1.automationsOfPipe(orgId, pipeId));
  if (automations > 0) {
    throw new ConflictError(`Pipe ${pipeId} has ${automations} automation${automations === 1 ? '' : 's'}; delete them first`, 'pipe.hasAutomations', {
      automationCount: automations,
    });
  }
  const key = keys.pipe(orgId, pipeId);
  const c = ctx.store.containers;
  try {
    await c.setMark(key, 'deleting', true, ifMatch);
  } catch (error) {
    if (error instanceof TransactionCancelled) {
      if (ifMatch !== undefined) throw new PreconditionFailedError(`Pipe ${pipeId} changed meanwhile`);
      throw new NotFoundError('Pipe', pipeId);
    }
    throw error;
  }
  let cards = 0;
  try {
    for (const phaseId of def.pipe.phaseOrder) cards += await c.countIndex(gsi1.cardsOfPhase(orgId, pipeId, phaseId));
  } catch (error) {
    await c.setMark(key, 'deleting', false);
    throw error;
  }
  if (cards > 0) {
    await c.setMark(key, 'deleting', false);
    throw new ConflictError(`Pipe ${pipeId} still has ${cards} card${cards === 1 ? '' : 's'}; delete or move them first`, 'pipe.notEmpty', {
      cardCount: cards,
    });
  }
  await c.deletePartition(key);
}

export async function createPhase(
  ctx: UseCaseContext,
  pipeId: string,
  input: { name: string; description?: string; done?: boolean; position?: number },
  ifMatch?: number,
) {
  const { orgId } = ctx.principal;
  const def = await loadPipe(ctx, pipeId);
  checkVersion(def.pipe, ifMatch);
  if (def.pipe.phaseOrder.length >= 100) throw new ConflictError('A pipe has at most 100 phases', 'pipe.tooManyPhases');
  const now = nowIso(ctx);
  const phase: Phase = {
    id: newId('phase'),
    pipeId,
    name: input.name,
    ...(input.description ? { description: input.description } : {}),
    done: input.done ?? false,
    createdAt: now,
    updatedAt: now,
  };
  const order = [...def.pipe.phaseOrder];
  order.splice(Math.min(input.position ?? order.length, order.length), 0, phase.id);
  const c = ctx.store.containers;
  try {
    await c.transact([
      { Put: { TableName: ctx.store.table, Item: c.phaseItem(orgId, phase), ConditionExpression: 'attribute_not_exists(PK)' } },
      bumpContainer(orgId, 'pipe', pipeId, ctx.store.table, now, def.pipe.version, {
        set: ['phaseOrder = :order'],
        values: { ':order': order },
      }),
    ]);
  } catch (error) {
    definitionConflict(error, pipeId, ifMatch);
  }
  return pipeView({
    ...def,
    pipe: { ...def.pipe, phaseOrder: order, version: def.pipe.version + 1, updatedAt: now },
    phases: [...def.phases, phase],
    fields: def.fields,
  });
}

function findPhase(def: PipeDefinition, phaseId: string): Phase {
  const phase = def.phases.find((p) => p.id === phaseId);
  if (!phase) throw new NotFoundError('Phase', phaseId);
  return phase;
}

export async function updatePhase(
  ctx: UseCaseContext,
  pipeId: string,
  phaseId: string,
  change: { name?: string; description?: string | null; done?: boolean },
  ifMatch?: number,
) {
  const { orgId } = ctx.principal;
  const def = await loadPipe(ctx, pipeId);
  checkVersion(def.pipe, ifMatch);
  const phase = findPhase(def, phaseId);
  const now = nowIso(ctx);
  const next: Phase = { ...phase, updatedAt: now };
  if (change.name !== undefined) next.name = change.name;
  if (change.done !== undefined) next.done = change.done;
  if (change.description === null) delete next.description;
  else if (change.description !== undefined) next.description = change.description;
  const c = ctx.store.containers;
  try {
    await c.transact([
      {
        Put: {
          TableName: ctx.store.table,
          Item: c.phaseItem(orgId, next),
          ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(closing)',
        },
      },
      bumpContainer(orgId, 'pipe', pipeId, ctx.store.table, now, def.pipe.version),
    ]);
  } catch (error) {
    definitionConflict(error, pipeId, ifMatch);
  }
  return pipeView({
    ...def,
    pipe: { ...def.pipe, version: def.pipe.version + 1, updatedAt: now },
    phases: def.phases.map((p) => (p.id === phaseId ? next : p)),
    fields: def.fields,
  });
}

/** Deletes an empty phase and the fields that belong to it; the last phase stays. */
export async function deletePhase(ctx: UseCaseContext, pipeId: string, phaseId: string, ifMatch?: number) {
  const { orgId } = ctx.principal;
  const def = await loadPipe(ctx, pipeId);
  checkVersion(def.pipe, ifMatch);
  findPhase(def, phaseId);
  if (def.pipe.phaseOrder.length === 1) throw new ConflictError('A pipe keeps at least one phase', 'pipe.lastPhase');
  const c = ctx.store.containers;
  const phaseKey = keys.phase(orgId, pipeId, phaseId);
  await c.setMark(phaseKey, 'closing', true);
  const cards = await c.countIndex(gsi1.cardsOfPhase(orgId, pipeId, phaseId)).catch(async (error) => {
    await c.setMark(phaseKey, 'closing', false);
    throw error;
  });
  if (cards > 0) {
    await c.setMark(phaseKey, 'closing', false);
    throw new ConflictError(`Phase ${phaseId} still has ${cards} card${cards === 1 ? '' : 's'}; move them first`, 'phase.notEmpty', { cardCount: cards });
  }
  const phaseFields = def.fields.filter((f) => f.phaseId === phaseId);
  const now = nowIso(ctx);
  const titleGoes = phaseFields.some((f) => f.id === def.pipe.titleFieldId);
  try {
    await c.transact([
      { Delete: { TableName: ctx.store.table, Key: phaseKey } },
      ...phaseFields.map((f) => ({ Delete: { TableName: ctx.store.table, Key: keys.pipeField(orgId, pipeId, f.id) } })),
      bumpContainer(orgId, 'pipe', pipeId, ctx.store.table, now, def.pipe.version, {
        set: ['phaseOrder = :order'],
        values: { ':order': def.pipe.phaseOrder.filter((id) => id !== phaseId) },
        remove: titleGoes ? ['titleFieldId'] : [],
      }),
    ]);
  } catch (error) {
    await c.setMark(phaseKey, 'closing', false);
    definitionConflict(error, pipeId, ifMatch);
  }
}

export async function createPipeField(ctx: UseCaseContext, pipeId: string, input: NewFieldInput & { phaseId?: string | null }, ifMatch?: number) {
  const { orgId } = ctx.principal;
  const def = await loadPipe(ctx, pipeId);
  checkVersion(def.pipe, ifMatch);
  const phaseId = input.phaseId ?? null;
  if (phaseId !== null && !def.phases.some((p) => p.id === phaseId)) {
    throw new ValidationError(`Phase ${phaseId} is not a phase of pipe ${pipeId}`, [
      { path: 'body.phaseId', message: `${phaseId} is not a phase of this pipe`, code: 'phase.unknown' },
    ]);
  }
  if (def.fields.length >= 500) throw new ConflictError('A pipe has at most 500 fields', 'pipe.tooManyFields');
  const now = nowIso(ctx);
  const { phaseId: _p, ...fieldInput } = input;
  const field = buildField(pipeId, fieldInput, now, phaseId);
  const c = ctx.store.containers;
  try {
    await c.transact([
      { Put: { TableName: ctx.store.table, Item: c.fieldItem(orgId, 'pipe', field), ConditionExpression: 'attribute_not_exists(PK)' } },
      ...(phaseId
        ? [
            {
              ConditionCheck: {
                TableName: ctx.store.table,
                Key: keys.phase(orgId, pipeId, phaseId),
                ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(closing)',
              },
            },
          ]
        : []),
      bumpContainer(orgId, 'pipe', pipeId, ctx.store.table, now, def.pipe.version),
    ]);
  } catch (error) {
    definitionConflict(error, pipeId, ifMatch);
  }
  return fieldView(field);
}

export async function updateContainerField(
  ctx: UseCaseContext,
  kind: 'pipe' | 'database',
  containerId: string,
  fields: Field[],
  version: number,
  fieldId: string,
  change: FieldChange,
) {
  const { orgId } = ctx.principal;
  const field = fields.find((f) => f.id === fieldId);
  if (!field) throw new NotFoundError('Field', fieldId);
  const now = nowIso(ctx);
  const next = changeField(field, change, now);
  const c = ctx.store.containers;
  try {
    await c.transact([
      { Put: { TableName: ctx.store.table, Item: c.fieldItem(orgId, kind, next), ConditionExpression: 'attribute_exists(PK)' } },
      bumpContainer(orgId, kind, containerId, ctx.store.table, now, version),
    ]);
  } catch (error) {
    definitionConflict(error, containerId, undefined);
  }
  return fieldView(next);
}

export async function deleteContainerField(
  ctx: UseCaseContext,
  kind: 'pipe' | 'database',
  containerId: string,
  fields: Field[],
  version: number,
  titleFieldId: string | undefined,
  fieldId: string,
) {
  const { orgId } = ctx.principal;
  if (!fields.some((f) => f.id === fieldId)) throw new NotFoundError('Field', fieldId);
  const now = nowIso(ctx);
  const key = kind === 'pipe' ? keys.pipeField(orgId, containerId, fieldId) : keys.databaseField(orgId, containerId, fieldId);
  try {
    await ctx.store.containers.transact([
      { Delete: { TableName: ctx.store.table, Key: key, ConditionExpression: 'attribute_exists(PK)' } },
      bumpContainer(orgId, kind, containerId, ctx.store.table, now, version, {
        remove: titleFieldId === fieldId ? ['titleFieldId'] : [],
      }),
    ]);
  } catch (error) {
    definitionConflict(error, containerId, undefined);
  }
}

export async function updatePipeField(ctx: UseCaseContext, pipeId: string, fieldId: string, change: FieldChange, ifMatch?: number) {
  const def = await loadPipe(ctx, pipeId);
  checkVersion(def.pipe, ifMatch);
  return updateContainerField(ctx, 'pipe', pipeId, def.fields, def.pipe.version, fieldId, change);
}

export async function deletePipeField(ctx: UseCaseContext, pipeId: string, fieldId: string, ifMatch?: number) {
  const def = await loadPipe(ctx, pipeId);
  checkVersion(def.pipe, ifMatch);
  await deleteContainerField(ctx, 'pipe', pipeId, def.fields, def.pipe.version, def.pipe.titleFieldId, fieldId);
}
