/** Adding children to a parent card or record: connect an existing item, or create one from the parent. */
import { prepareCard, cardView } from '../cards/cards';
import { presetFromParent } from './field-map';
import { nowIso, type UseCaseContext } from '../kernel/context';
import {
  assertIfMatch,
  assertParent,
  bornWithParent,
  connectExisting,
  connectionFor,
  containerDefinition,
  containerOf,
  edgeSteps,
  parentStep,
  readCore,
  runSteps,
  summaryOf,
  type AnyItem,
} from './edges';
import { ValidationError } from '../kernel/errors';
import type { Card } from '../cards/model';
import type { DatabaseDefinition, DbRecord } from '../databases/model';
import type { ItemType } from '../kernel/model';
import type { PipeDefinition } from '../pipes/model';
import { prepareRecord, recordView } from '../databases/records';

type AddChild = { connectionId: string; childId: string } | { connectionId: string; create: { title?: string; values?: Record<string, unknown> } };

export async function addChild(ctx: UseCaseContext, parentType: ItemType, parentId: string, body: AddChild, ifMatch?: number) {
  if ('childId' in body)
    return { kind: 'connected' as const, edge: await connectExisting(ctx, parentType, parentId, body.connectionId, body.childId, ifMatch) };
  return { kind: 'created' as const, ...(await createChild(ctx, parentType, parentId, body.connectionId, body.create, undefined, ifMatch)) };
}

/**
 * Creates a child from its parent: auto-filled from the connection's field map (request values
 * override all but synced fields), written with both edges and the count in one transaction.
 */
export async function createChild(
  ctx: UseCaseContext,
  parentType: ItemType,
  parentId: string,
  connectionId: string,
  input: { title?: string; values?: Record<string, unknown> },
  /** The new child's id, when the caller must fix it (an automation's replay-safe create); a fresh one otherwise. */
  id?: string,
  /** If-Match: the parent's version the caller read; its edges change only at that version. */
  ifMatch?: number,
) {
  const connection = await connectionFor(ctx, connectionId);
  const header = await readCore<AnyItem>(ctx, parentType, parentId);
  assertIfMatch(parentType, header.item, ifMatch);
  assertParent(connection, parentType, header.item);
  if (!connection.canCreate) {
    throw new ValidationError(`Connection ${connection.name} only connects existing items`, [
      { path: 'body.create', message: 'this connection does not create children', code: 'connection.createDisabled' },
    ]);
  }
  const synced = connection.fieldMap.filter((e) => e.sync && e.childFieldId in (input.values ?? {}));
  if (synced.length) {
    throw new ValidationError(
      'Synced fields take their value from the parent',
      synced.map((e) => ({
        path: `values.${e.childFieldId}`,
        message: `follows parent field ${e.parentFieldId}; change it on the parent`,
        code: 'field.syncedFromParent',
      })),
    );
  }
  const parentDef = await containerDefinition(ctx, parentType, containerOf(parentType, header.item));
  const childType: ItemType = connection.child.type === 'pipe' ? 'card' : 'record';
  const childDef = await containerDefinition(ctx, childType, connection.child.id);
  const preset = presetFromParent(connection.fieldMap, parentDef.fields, childDef.fields, header.item.values);
  const prepared =
    childType === 'card'
      ? await prepareCard(ctx, childDef as PipeDefinition, input, preset, id).then(({ card, steps }) => ({ child: card as AnyItem, steps }))
      : await prepareRecord(ctx, childDef as DatabaseDefinition, input, preset, id).then(({ record, steps }) => ({ child: record as AnyItem, steps }));
  const parent = summaryOf(parentType, header.item);
  const child = summaryOf(childType, prepared.child);
  const now = nowIso(ctx);
  await runSteps(ctx, [
    ...bornWithParent(prepared.steps, prepared.child.id),
    ...edgeSteps(ctx, connection, parent, [child], [], now, false),
    parentStep(ctx, parent, now, { adding: true, ifMatch }),
  ]);
  return { childType, child: childType === 'card' ? cardView(prepared.child as Card) : recordView(prepared.child as DbRecord) };
}
