/** Rules shared by cards and records: value checks, required fields, the derived title. */
import { ValidationError, type FieldProblem } from './errors';
import { checkValues, isFilled, type FieldSpec, type FieldValue } from './fields';
import { titleFrom } from './field-defs';
import type { Field, Values } from './model';

export function fieldMap(fields: Field[]): Map<string, FieldSpec> {
  return new Map(fields.map((f) => [f.id, f]));
}

/** Validates a values patch; throws one 422 that lists every bad field. */
export function checkPatch(fields: Field[], patch: Record<string, unknown> | undefined): Record<string, FieldValue | null> {
  if (!patch) return {};
  const { values, problems } = checkValues(fieldMap(fields), patch, 'body.values');
  if (problems.length) throw new ValidationError(`Some values are invalid: ${problems.map((p) => p.message).join('; ')}`, problems, 'validation.invalidValues');
  return values;
}

export function applyPatch(values: Values, patch: Record<string, FieldValue | null>): Values {
  const next: Values = { ...values };
  for (const [fieldId, value] of Object.entries(patch)) {
    if (value === null) delete next[fieldId];
    else next[fieldId] = value;
  }
  return next;
}

/** Required fields among `fields` that `values` leaves empty, as problems naming each field. */
export function missingRequired(fields: Field[], values: Values, code: string): FieldProblem[] {
  return fields
    .filter((f) => f.required && !isFilled(values[f.id]))
    .map((f) => ({ path: `values.${f.id}`, message: `${f.label} is required`, code }));
}

/**
 * The title: the title field's value when the container has one, otherwise the explicit title,
 * otherwise what the item had, otherwise a placeholder.
 */
export function deriveTitle(titleFieldId: string | undefined, values: Values, explicit: string | undefined, previous: string | undefined, placeholder: string): string {
  return (titleFieldId ? titleFrom(values[titleFieldId]) : undefined) ?? explicit ?? previous ?? placeholder;
}

/**
 * DynamoDB refuses items over 400 KB; an item is refused here first, with a 422 that says so,
 * leaving room for the keys, index attributes and bookkeeping the store adds.
 */
export const MAX_ITEM_BYTES = 350_000;

export function assertItemSize(item: object, what: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
  if (bytes > MAX_ITEM_BYTES) {
    throw new ValidationError(`${what} would be ${bytes} bytes; an item holds at most ${MAX_ITEM_BYTES} bytes of values`, [
      { path: 'body.values', message: `the values add up to about ${bytes} bytes; the limit is ${MAX_ITEM_BYTES}`, code: 'item.tooLarge' },
    ], 'item.tooLarge');
  }
}
