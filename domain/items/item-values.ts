/** Rules shared by cards and records: value checks, required fields, the derived title. */
import { ValidationError, type FieldProblem } from '../kernel/errors';
import { checkValues, isFilled, type FieldSpec, type FieldValue } from '../fields/field-types';
import { titleFrom } from '../fields/field-defs';
import type { Field, Values } from '../fields/model';

export function fieldMap(fields: Field[]): Map<string, FieldSpec> {
  return new Map(fields.map((f) => [f.id, f]));
}

/**
 * Where a field's problem is reported: `values.<fieldId>`, whether the value came from the
 * request body (create, PATCH) or from the item as stored (a move's required fields).
 */
export const VALUES_PATH = 'values';

/** Validates a values patch; throws one 422 that lists every bad field. */
export function checkPatch(fields: Field[], patch: Record<string, unknown> | undefined): Record<string, FieldValue | null> {
  const { values, problems } = checkPatchProblems(fields, patch);
  if (problems.length) throw invalidValues(problems);
  return values;
}

/** The valid part of a values patch, and a problem for each bad value. */
export function checkPatchProblems(
  fields: Field[],
  patch: Record<string, unknown> | undefined,
): { values: Record<string, FieldValue | null>; problems: FieldProblem[] } {
  if (!patch) return { values: {}, problems: [] };
  return checkValues(fieldMap(fields), patch, VALUES_PATH);
}

export const invalidValues = (problems: FieldProblem[]) =>
  new ValidationError(`Some values are invalid: ${problems.map((p) => p.message).join('; ')}`, problems, 'validation.invalidValues');

/**
 * The 422 problems of one request, gathered across its checks (values, connection fields,
 * required fields, size) so that one answer lists every problem. One failed check is answered
 * as it is; several are answered together, each problem keeping its own code.
 */
export class ProblemList {
  private readonly errors: ValidationError[] = [];

  add(error: ValidationError): void {
    if (error.errors.length) this.errors.push(error);
  }

  /** Problems already reported at `path` (a missing-field problem is not added on top of a bad value). */
  has(path: string): boolean {
    return this.errors.some((e) => e.errors.some((p) => p.path === path));
  }

  /** Runs a check; a 422 it throws is kept (and `fallback` returned), anything else is thrown. */
  async run<T>(check: () => T | Promise<T>, fallback: T): Promise<T> {
    try {
      return await check();
    } catch (error) {
      if (!(error instanceof ValidationError) || error.errors.length === 0) throw error;
      this.add(error);
      return fallback;
    }
  }

  throwIfAny(): void {
    if (this.errors.length === 0) return;
    if (this.errors.length === 1) throw this.errors[0]!;
    const problems = this.errors.flatMap((e) => e.errors);
    throw new ValidationError(`${problems.length} problems: ${this.errors.map((e) => e.message).join('; ')}`, problems, 'validation.invalidInput');
  }
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
  return fields.filter((f) => f.required && !isFilled(values[f.id])).map((f) => ({ path: `values.${f.id}`, message: `${f.label} is required`, code }));
}

/**
 * The title: the title field's value when the container has one, otherwise the explicit title,
 * otherwise what the item had, otherwise a placeholder.
 */
export function deriveTitle(
  titleFieldId: string | undefined,
  values: Values,
  explicit: string | undefined,
  previous: string | undefined,
  placeholder: string,
): string {
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
    throw new ValidationError(
      `${what} would be ${bytes} bytes; an item holds at most ${MAX_ITEM_BYTES} bytes of values`,
      [{ path: VALUES_PATH, message: `the values add up to about ${bytes} bytes; the limit is ${MAX_ITEM_BYTES}`, code: 'item.tooLarge' }],
      'item.tooLarge',
    );
  }
}
