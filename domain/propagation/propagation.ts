/**
 * Pure planning of what a change of a parent means for its children: which synced child fields
 * take which values, and whether the summaries neighbours hold must be refreshed.
 */
import { isDeepStrictEqual } from 'node:util';
import { convertValue } from '../connections/field-map';
import type { Connection, ItemSummary } from '../connections/model';
import type { Field } from '../fields/model';

/** Attribute that marks writes made by propagation, so automations and webhooks can skip them. */
export const CHANGED_BY = 'changedBy';
export const PROPAGATION = 'propagation';
/** Attribute on a child: the version of its parent (through one connection) whose synced values it holds. */
export const syncVersionAttribute = (connectionId: string) => `syncVersion:${connectionId}`;

/**
 * Every synced child field of one connection with the value it takes from the parent's values
 * (null: the parent has none, so the child's is removed): what a child holds of its parent.
 */
export function syncedValues(
  parentValues: Record<string, unknown>,
  connection: Connection,
  parentFields: Field[],
  childFields: Field[],
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const entry of connection.fieldMap) {
    if (!entry.sync || entry.parentFieldId === undefined) continue;
    const parentField = parentFields.find((f) => f.id === entry.parentFieldId);
    const childField = childFields.find((f) => f.id === entry.childFieldId);
    if (!parentField || !childField) continue;
    const value = parentValues[entry.parentFieldId];
    values[entry.childFieldId] = value === undefined || value === null ? null : convertValue(parentField, childField, value);
  }
  return values;
}

export interface ChildValues {
  /** Child field id → new value; null removes the value. */
  values: Record<string, unknown>;
}

/** Per connection: the synced child values that follow from the parent's new values. */
export function planChildUpdates(
  oldValues: Record<string, unknown>,
  newValues: Record<string, unknown>,
  outgoing: Connection[],
  parentFields: Field[],
  childFields: (connection: Connection) => Field[],
): Map<string, ChildValues> {
  const plan = new Map<string, ChildValues>();
  for (const connection of outgoing) {
    const values: Record<string, unknown> = {};
    for (const entry of connection.fieldMap) {
      if (!entry.sync || entry.parentFieldId === undefined) continue;
      const before = oldValues[entry.parentFieldId];
      const after = newValues[entry.parentFieldId];
      if (isDeepStrictEqual(before, after)) continue;
      const parentField = parentFields.find((f) => f.id === entry.parentFieldId);
      const childField = childFields(connection).find((f) => f.id === entry.childFieldId);
      if (!parentField || !childField) continue;
      values[entry.childFieldId] = after === undefined || after === null ? null : convertValue(parentField, childField, after);
    }
    if (Object.keys(values).length) plan.set(connection.id, { values });
  }
  return plan;
}

export function summaryDiffers(a: ItemSummary | undefined, b: ItemSummary): boolean {
  return !a || a.title !== b.title || a.phaseId !== b.phaseId || a.finished !== b.finished;
}
