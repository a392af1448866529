/**
 * Automations ("when one process ends, another begins"): per pipe, a trigger and an action.
 * Everything an automation names (phase, field, connection, value) is checked against the
 * pipe's definition when it is written, so a 422 names the offending field up front; what
 * changes later (a connection deleted, a rule that blocks a move) fails the run, which the
 * stream reports (automation-run.ts).
 */
import type { AutomationStore } from './store';
import type { Automation, AutomationAction, AutomationRun, AutomationTrigger, CreateAutomationInput, UpdateAutomationInput } from './model';
import { nowIso, type UseCaseContext } from '../kernel/context';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError, type FieldProblem } from '../kernel/errors';
import { checkValue } from '../fields/field-types';
import { newId } from '../kernel/ids';
import type { Connection } from '../connections/model';
import type { Page } from '../kernel/model';
import type { PipeDefinition } from '../pipes/model';
import { decodeCursor, encodeCursor } from '../kernel/cursor';
import { gsi1, gsi2, keys } from '../kernel/keys';

/** What automation use cases need besides the shared store: their own repository. */
export interface AutomationContext extends UseCaseContext {
  automations: AutomationStore;
}

const problem = (path: string, message: string, code: string): FieldProblem => ({ path, message, code });

/** A connection the pipe is the parent of, or a problem that says why the id does not qualify. */
async function outgoingConnection(ctx: UseCaseContext, def: PipeDefinition, connectionId: string, path: string): Promise<Connection | FieldProblem> {
  const connection = def.outgoing.find((c) => c.id === connectionId);
  if (connection) return connection;
  const elsewhere = await ctx.store.connections.get(ctx.principal.orgId, connectionId);
  if (!elsewhere) return problem(path, `no connection ${connectionId} in this organization`, 'connection.unknown');
  return problem(
    path,
    `connection ${connectionId} has ${elsewhere.parent.type} ${elsewhere.parent.id} as parent, not this pipe (${def.pipe.id})`,
    'automation.connectionNotFromPipe',
  );
}

const isProblem = (value: Connection | FieldProblem): value is FieldProblem => 'code' in value && 'path' in value;

/**
 * Checks a trigger and an action against the pipe's definition. Returns the action with a
 * set_field value normalized as the field type stores it; throws a 422 naming every problem.
 */
export async function checkAutomation(
  ctx: UseCaseContext,
  def: PipeDefinition,
  trigger: AutomationTrigger,
  action: AutomationAction,
): Promise<AutomationAction> {
  const problems: FieldProblem[] = [];
  const phaseOf = (phaseId: string, path: string) => {
    if (!def.phases.some((p) => p.id === phaseId)) problems.push(problem(path, `${phaseId} is not a phase of pipe ${def.pipe.id}`, 'automation.unknownPhase'));
  };
  const fieldOf = (fieldId: string, path: string) => {
    const field = def.fields.find((f) => f.id === fieldId);
    if (!field) problems.push(problem(path, `${fieldId} is not a field of pipe ${def.pipe.id}`, 'automation.unknownField'));
    else if (field.type === 'connection')
      problems.push(
        problem(
          path,
          `${field.label} is a connection field: its value is the connected items, not a value automations read or set`,
          'automation.connectionField',
        ),
      );
    return field?.type === 'connection' ? undefined : field;
  };

  switch (trigger.type) {
    case 'card.created':
      break;
    case 'card.entered_phase':
      phaseOf(trigger.phaseId, 'body.trigger.phaseId');
      break;
    case 'field.changed':
      fieldOf(trigger.fieldId, 'body.trigger.fieldId');
      break;
    case 'children.all_finished': {
      const connection = await outgoingConnection(ctx, def, trigger.connectionId, 'body.trigger.connectionId');
      if (isProblem(connection)) problems.push(connection);
      else if (connection.child.type !== 'pipe') {
        problems.push(
          problem('body.trigger.connectionId', `the children of ${connection.name} are records, which never finish`, 'automation.childrenNeverFinish'),
        );
      }
      break;
    }
  }

  let checked: AutomationAction = action;
  switch (action.type) {
    case 'create_connected_card': {
      const connection = await outgoingConnection(ctx, def, action.connectionId, 'body.action.connectionId');
      if (isProblem(connection)) problems.push(connection);
      else if (!connection.canCreate)
        problems.push(
          problem('body.action.connectionId', `${connection.name} only connects existing items; it cannot create children`, 'connection.createDisabled'),
        );
      break;
    }
    case 'move_card':
      phaseOf(action.phaseId, 'body.action.phaseId');
      if (trigger.type === 'card.entered_phase' && trigger.phaseId === action.phaseId) {
        problems.push(problem('body.action.phaseId', 'the card is in this phase already when the trigger fires', 'automation.noOp'));
      }
      break;
    case 'set_field': {
      const field = fieldOf(action.fieldId, 'body.action.fieldId');
      if (action.value === undefined) problems.push(problem('body.action.value', 'give the value to set (null clears the field)', 'automation.valueRequired'));
      else if (field && action.value !== null) {
        const check = checkValue(field, action.value);
        if (!check.ok) problems.push(problem('body.action.value', `${field.label} ${check.message}`, check.code));
        else checked = { ...action, value: check.value };
      }
      break;
    }
  }
  if (problems.length)
    throw new ValidationError(`The automation is invalid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems, 'automation.invalid');
  return checked;
}

async function pipeFor(ctx: UseCaseContext, pipeId: string): Promise<PipeDefinition> {
  const def = await ctx.store.containers.loadPipe(ctx.principal.orgId, pipeId);
  if (!def)
    throw new ValidationError(`Pipe ${pipeId} does not exist`, [problem('body.pipeId', `no pipe ${pipeId} in this organization`, 'automation.unknownPipe')]);
  return def;
}

export async function createAutomation(ctx: AutomationContext, input: CreateAutomationInput): Promise<Automation> {
  const def = await pipeFor(ctx, input.pipeId);
  const action = await checkAutomation(ctx, def, input.trigger, input.action);
  const now = nowIso(ctx);
  const automation: Automation = {
    id: newId('automation'),
    name: input.name,
    pipeId: input.pipeId,
    enabled: input.enabled ?? true,
    trigger: input.trigger,
    action,
    version: 1,
    createdBy: ctx.principal.userId,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await ctx.automations.create(ctx.principal.orgId, automation))) {
    throw new ConflictError(`Pipe ${input.pipeId} is being deleted`, 'automation.pipeGone');
  }
  return automation;
}

export async function getAutomation(ctx: AutomationContext, automationId: string): Promise<Automation> {
  const automation = await ctx.automations.get(ctx.principal.orgId, automationId);
  if (!automation) throw new NotFoundError('Automation', automationId);
  return automation;
}

export async function listAutomations(ctx: AutomationContext, query: { pipeId?: string; limit?: number; cursor?: string }): Promise<Page<Automation>> {
  const { orgId } = ctx.principal;
  const { pipeId } = query;
  if (pipeId === undefined) {
    // Without a pipe: the organization's automations, oldest first (GSI2).
    const scope = `automations:${orgId}:*`;
    const start = query.cursor
      ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ GSI2PK: gsi2.automationsOfOrg(orgId) }))
      : undefined;
    const page = await ctx.automations.pageOfOrg(orgId, query.limit ?? 50, start?.key);
    return { items: page.items, nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null };
  }
  const scope = `automations:${orgId}:${pipeId}`;
  const start = query.cursor
    ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ GSI1PK: gsi1.automationsOfPipe(orgId, pipeId) }))
    : undefined;
  const page = await ctx.automations.pageOfPipe(orgId, pipeId, query.limit ?? 50, start?.key);
  // An empty first page is the moment to tell an unknown pipe (404) from one without automations.
  if (!query.cursor && page.items.length === 0 && !(await ctx.store.containers.loadPipe(orgId, pipeId))) throw new NotFoundError('Pipe', pipeId);
  return { items: page.items, nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null };
}

export async function updateAutomation(ctx: AutomationContext, automationId: string, change: UpdateAutomationInput, ifMatch?: number): Promise<Automation> {
  const current = await getAutomation(ctx, automationId);
  if (ifMatch !== undefined && ifMatch !== current.version) {
    throw new PreconditionFailedError(`Automation ${automationId} is at version ${current.version}, not ${ifMatch}`, { currentVersion: current.version });
  }
  if (Object.values(change).every((v) => v === undefined)) return current;
  const trigger = change.trigger ?? current.trigger;
  let action = change.action ?? current.action;
  const enabled = change.enabled ?? current.enabled;
  // A new trigger or action is checked; so is an automation being switched on (what it names may be gone).
  if (change.trigger || change.action || (enabled && !current.enabled))
    action = await checkAutomation(ctx, await pipeFor(ctx, current.pipeId), trigger, action);
  const next: Automation = { ...current, name: change.name ?? current.name, enabled, trigger, action, version: current.version + 1, updatedAt: nowIso(ctx) };
  if (!(await ctx.automations.replace(ctx.principal.orgId, next, current.version))) {
    const now = await ctx.automations.get(ctx.principal.orgId, automationId);
    if (!now) throw new NotFoundError('Automation', automationId);
    if (ifMatch !== undefined)
      throw new PreconditionFailedError(`Automation ${automationId} changed meanwhile (now version ${now.version})`, { currentVersion: now.version });
    throw new ConflictError(`Automation ${automationId} changed meanwhile; try again`, 'resource.concurrentChange');
  }
  return next;
}

export async function deleteAutomation(ctx: AutomationContext, automationId: string, ifMatch?: number): Promise<void> {
  if (await ctx.automations.delete(ctx.principal.orgId, automationId, ifMatch)) return;
  const current = await ctx.automations.get(ctx.principal.orgId, automationId);
  if (!current) throw new NotFoundError('Automation', automationId);
  throw new PreconditionFailedError(`Automation ${automationId} is at version ${current.version}, not ${ifMatch}`, { currentVersion: current.version });
}

/** The runs an automation made (in trigger-key order), each with its status and, if it failed, why. */
export async function listAutomationRuns(
  ctx: AutomationContext,
  automationId: string,
  query: { limit?: number; cursor?: string },
): Promise<Page<AutomationRun>> {
  const { orgId } = ctx.principal;
  await getAutomation(ctx, automationId);
  const scope = `automation-runs:${orgId}:${automationId}`;
  const start = query.cursor
    ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ PK: keys.automation(orgId, automationId).PK }))
    : undefined;
  const page = await ctx.automations.pageOfRuns(orgId, automationId, query.limit ?? 50, start?.key);
  return { items: page.items, nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null };
}
