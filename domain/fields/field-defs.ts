/** Rules shared by pipe and database fields: building them, changing them, viewing them. */
import { ValidationError } from '../kernel/errors';
import { OPTION_TYPES, type FieldType, type FieldValue } from './field-types';
import { newId } from '../kernel/ids';
import type { Field } from './model';

export interface NewFieldInput {
  label: string;
  type: FieldType;
  description?: string;
  required?: boolean;
  options?: string[];
  connectionId?: string;
}

export function buildField(containerId: string, input: NewFieldInput, now: string, phaseId?: string | null): Field {
  return {
    id: newId('field'),
    containerId,
    ...(phaseId !== undefined ? { phaseId } : {}),
    label: input.label,
    type: input.type,
    ...(input.description ? { description: input.description } : {}),
    required: input.required ?? false,
    ...(input.options ? { options: input.options } : {}),
    ...(input.connectionId ? { connectionId: input.connectionId } : {}),
    createdAt: now,
    updatedAt: now,
  };
}

export interface FieldChange {
  label?: string;
  description?: string | null;
  required?: boolean;
  options?: string[];
}

export function changeField(field: Field, change: FieldChange, now: string): Field {
  if (change.options !== undefined && !OPTION_TYPES.has(field.type)) {
    throw new ValidationError(`A ${field.type} field takes no options`, [
      { path: 'body.options', message: `a ${field.type} field takes no options`, code: 'field.noOptions' },
    ]);
  }
  if (change.options !== undefined && change.options.length === 0) {
    throw new ValidationError('A select or checklist field needs at least one option', [
      { path: 'body.options', message: 'needs at least one option', code: 'field.noOptions' },
    ]);
  }
  const next: Field = { ...field, updatedAt: now };
  if (change.label !== undefined) next.label = change.label;
  if (change.required !== undefined) next.required = change.required;
  if (change.options !== undefined) next.options = change.options;
  if (change.description === null) delete next.description;
  else if (change.description !== undefined) next.description = change.description;
  return next;
}

/** Field types whose value can serve as a card or record title. */
const TITLE_TYPES: ReadonlySet<FieldType> = new Set(['short_text', 'email', 'phone', 'number', 'date', 'single_select']);

export function assertTitleField(fields: Field[], titleFieldId: string, path: string): void {
  const field = fields.find((f) => f.id === titleFieldId);
  if (!field) {
    throw new ValidationError(`Field ${titleFieldId} does not belong here`, [{ path, message: `no field ${titleFieldId} here`, code: 'field.unknown' }]);
  }
  if (!TITLE_TYPES.has(field.type)) {
    throw new ValidationError(`A ${field.type} field cannot be the title`, [
      { path, message: `a ${field.type} field cannot be the title; use one of ${[...TITLE_TYPES].join(', ')}`, code: 'field.notTitleType' },
    ]);
  }
}

export function titleFrom(value: FieldValue | null | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : String(value);
  return text.trim() ? text.trim().slice(0, 255) : undefined;
}

export function fieldView(field: Field) {
  const { containerId: _container, ...view } = field;
  return view;
}
