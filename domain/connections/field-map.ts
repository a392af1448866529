/** A connection's field map: which parent fields may fill which child fields, and how a value converts. */
import type { FieldType } from '../fields/field-types';
import type { Field } from '../fields/model';
import type { Connection } from './model';

/** Which parent field types may fill which child field types (besides the same type). */
const COMPATIBLE: Partial<Record<FieldType, FieldType[]>> = {
  short_text: ['email', 'phone', 'single_select', 'date'],
  long_text: ['short_text', 'email', 'phone', 'single_select', 'date'],
  datetime: ['date'],
};

export function mapCompatible(parent: Field, child: Field): string | null {
  if (child.type === 'connection' || parent.type === 'connection') return 'connection fields cannot be auto-filled';
  if (parent.type === child.type) {
    if (parent.options && child.options) {
      const missing = parent.options.filter((o) => !child.options!.includes(o));
      if (missing.length) return `the child field lacks options ${missing.map((o) => `"${o}"`).join(', ')} of the parent field`;
    }
    return null;
  }
  if (parent.type === 'single_select' && child.type === 'multi_select') {
    const missing = (parent.options ?? []).filter((o) => !child.options?.includes(o));
    return missing.length ? `the child field lacks options ${missing.map((o) => `"${o}"`).join(', ')}` : null;
  }
  return COMPATIBLE[child.type]?.includes(parent.type) ? null : `a ${parent.type} field cannot fill a ${child.type} field`;
}

/** Converts a parent value for a compatible child field of another type. */
export function convertValue(parent: Field, child: Field, value: unknown): unknown {
  if (parent.type === child.type || value === undefined || value === null) return value;
  if (parent.type === 'single_select' && child.type === 'multi_select') return [value];
  if (parent.type === 'date' && child.type === 'datetime') return `${value}T00:00:00Z`;
  return String(value);
}

/**
 * What a new child starts with from its parent: each mapped child field gets its fixed value or
 * the parent's value, converted for the child field's type (empty parent values give nothing).
 */
export function presetFromParent(
  fieldMap: Connection['fieldMap'],
  parentFields: Field[],
  childFields: Field[],
  parentValues: Record<string, unknown>,
): Record<string, unknown> {
  const preset: Record<string, unknown> = {};
  for (const entry of fieldMap) {
    const childField = childFields.find((f) => f.id === entry.childFieldId);
    if (!childField) continue;
    if (entry.parentFieldId === undefined) {
      preset[childField.id] = entry.value;
      continue;
    }
    const parentField = parentFields.find((f) => f.id === entry.parentFieldId);
    const value = parentValues[entry.parentFieldId];
    if (parentField && value !== undefined && value !== null) preset[childField.id] = convertValue(parentField, childField, value);
  }
  return preset;
}
