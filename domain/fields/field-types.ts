/**
 * Typed fields: what each type accepts as a value, and how a value is normalized before it is
 * stored. Pure: used by cards and records alike, and by the zod schemas for the API contract.
 */
import type { FieldProblem } from '../kernel/errors';

export const FIELD_TYPES = [
  'short_text',
  'long_text',
  'number',
  'currency',
  'date',
  'datetime',
  'email',
  'phone',
  'single_select',
  'multi_select',
  'checklist',
  'assignee',
  'attachment',
  'connection',
] as const;

export type FieldType = (typeof FIELD_TYPES)[number];

/** Types whose definition carries a list of options, and whose values must come from it. */
export const OPTION_TYPES: ReadonlySet<FieldType> = new Set(['single_select', 'multi_select', 'checklist']);

export const LIMITS = {
  shortText: 255,
  longText: 20_000,
  options: 200,
  optionLength: 100,
  listValues: 100,
  url: 2_048,
  userId: 128,
} as const;

/** What validation needs to know about a field; pipe and database fields both fit. */
export interface FieldSpec {
  id: string;
  label: string;
  type: FieldType;
  options?: string[];
  required?: boolean;
  /** connection fields: the connection whose children are the field's value. */
  connectionId?: string;
}

/**
 * A connection field's value in a request: the full list of connected ids (replace all), or
 * ids to add and to remove. Its stored form is the edges themselves, never a copy in values.
 */
export type ConnectionFieldChange = { set: string[] } | { add: string[]; remove: string[] };

export type FieldValue = string | number | string[];

type Check = { ok: true; value: FieldValue } | { ok: false; message: string; code: string };

const fail = (message: string, code = 'field.invalidValue'): Check => ({ ok: false, message, code });

/**
 * DynamoDB numbers hold 38 significant digits between 1e-130 and 9.99e125 in magnitude. A JSON
 * number parsed by JavaScript has at most 17 significant digits, and MAX_SAFE_INTEGER keeps the
 * upper end far inside the range, so the lower end is the one to check.
 */
export const MIN_MAGNITUDE = 1e-130;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
// Deliberately simple: one @, no spaces, a dot in the domain. RFC 5322 in full helps nobody here.
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}\.[^\s@.]{2,63}$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const USER_ID = /^[A-Za-z0-9._@:|+-]{1,128}$/;

function isCalendarDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

function text(value: unknown, max: number): Check {
  if (typeof value !== 'string') return fail('must be a string', 'field.wrongType');
  if (value.length > max) return fail(`must be at most ${max} characters`, 'field.tooLong');
  return { ok: true, value };
}

function stringList(value: unknown, each: (item: string) => string | null, max: number = LIMITS.listValues): Check {
  if (!Array.isArray(value)) return fail('must be an array of strings', 'field.wrongType');
  if (value.length > max) return fail(`must have at most ${max} items`, 'field.tooMany');
  const seen = new Set<string>();
  for (const item of value) {
    if (typeof item !== 'string') return fail('must be an array of strings', 'field.wrongType');
    const problem = each(item);
    if (problem) return fail(problem);
    if (seen.has(item)) return fail(`lists "${item}" twice`, 'field.duplicate');
    seen.add(item);
  }
  return { ok: true, value: [...value] as string[] };
}

function httpUrl(item: string): string | null {
  if (item.length > LIMITS.url) return `URL is longer than ${LIMITS.url} characters`;
  try {
    const url = new URL(item);
    return url.protocol === 'https:' || url.protocol === 'http:' ? null : `"${item}" is not an http(s) URL`;
  } catch {
    return `"${item}" is not a URL`;
  }
}

/** Validates and normalizes one non-null value for a field. */
export function checkValue(field: FieldSpec, value: unknown): Check {
  switch (field.type) {
    case 'short_text':
      if (typeof value === 'string' && /[\r\n]/.test(value)) return fail('must be a single line');
      return text(value, LIMITS.shortText);
    case 'long_text':
      return text(value, LIMITS.longText);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail('must be a finite number', 'field.wrongType');
      if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return fail('is too large', 'field.outOfRange');
      // DynamoDB stores numbers down to 1e-130; anything closer to zero would fail the write.
      if (value !== 0 && Math.abs(value) < MIN_MAGNITUDE) return fail(`is too close to zero (the smallest magnitude is ${MIN_MAGNITUDE})`, 'field.outOfRange');
      return { ok: true, value };
    case 'currency':
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail('must be a number', 'field.wrongType');
      if (Math.abs(value) >= 1e13) return fail('is too large', 'field.outOfRange');
      if (Math.round(value * 100) / 100 !== value) return fail('must have at most 2 decimal places');
      return { ok: true, value };
    case 'date':
      if (typeof value !== 'string') return fail('must be a date string YYYY-MM-DD', 'field.wrongType');
      return isCalendarDate(value) ? { ok: true, value } : fail(`"${value}" is not a calendar date YYYY-MM-DD`);
    case 'datetime': {
      if (typeof value !== 'string') return fail('must be an ISO 8601 date-time string', 'field.wrongType');
      const ms = DATETIME.test(value) ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(ms) || !isCalendarDate(value.slice(0, 10))) {
        return fail(`"${value}" is not an ISO 8601 date-time with a time zone`);
      }
      return { ok: true, value: new Date(ms).toISOString() };
    }
    case 'email':
      if (typeof value !== 'string') return fail('must be a string', 'field.wrongType');
      return EMAIL.test(value.trim()) ? { ok: true, value: value.trim() } : fail(`"${value}" is not an email address`);
    case 'phone': {
      if (typeof value !== 'string') return fail('must be a string', 'field.wrongType');
      const compact = value.replace(/[\s().-]/g, '');
      return E164.test(compact) ? { ok: true, value: compact } : fail(`"${value}" is not an international phone number (E.164, e.g. +14155550123)`);
    }
    case 'single_select':
      if (typeof value !== 'string') return fail('must be one of the options (a string)', 'field.wrongType');
      return field.options?.includes(value)
        ? { ok: true, value }
        : fail(`has no option "${value}" (options: ${(field.options ?? []).join(', ')})`, 'field.notAnOption');
    case 'multi_select':
    case 'checklist': {
      const checked = stringList(value, (item) =>
        field.options?.includes(item) ? null : `has no option "${item}" (options: ${(field.options ?? []).join(', ')})`,
      );
      if (!checked.ok && checked.message.startsWith('has no option')) return { ...checked, code: 'field.notAnOption' };
      return checked;
    }
    case 'assignee':
      return stringList(value, (item) => (USER_ID.test(item) ? null : `"${item}" is not a user id`));
    case 'attachment':
      return stringList(value, httpUrl, 20);
    case 'connection':
      return fail('is a connection field: its value is the list of connected ids', 'field.connectionValue');
  }
}

const ITEM_ID = /^(card|rec)_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Parses a connection field's value: an id list, or { add, remove }. */
export function parseConnectionChange(value: unknown): ConnectionFieldChange | string {
  const ids = (list: unknown): string[] | string => {
    if (!Array.isArray(list)) return 'must be an array of card or record ids';
    if (list.length > LIMITS.listValues) return `must have at most ${LIMITS.listValues} ids`;
    for (const id of list) if (typeof id !== 'string' || !ITEM_ID.test(id)) return `${JSON.stringify(id)} is not a card or record id`;
    if (new Set(list).size !== list.length) return 'lists an id twice';
    return list as string[];
  };
  if (Array.isArray(value)) {
    const set = ids(value);
    return typeof set === 'string' ? set : { set };
  }
  if (value && typeof value === 'object') {
    const { add = [], remove = [], ...rest } = value as Record<string, unknown>;
    if (Object.keys(rest).length) return `unknown property ${Object.keys(rest)[0]}; use add and remove`;
    const a = ids(add);
    const r = ids(remove);
    if (typeof a === 'string') return `add ${a}`;
    if (typeof r === 'string') return `remove ${r}`;
    return { add: a, remove: r };
  }
  return 'must be a list of ids, or { "add": [...], "remove": [...] }';
}

/** True when a stored value counts as filled in (for required fields). */
export function isFilled(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.trim().length > 0;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/**
 * Checks a patch of values against the container's fields. `null` clears a value. Returns the
 * normalized values and every problem found, each with the path of the field it concerns.
 */
export function checkValues(
  fields: ReadonlyMap<string, FieldSpec>,
  input: Record<string, unknown>,
  pathPrefix = 'values',
): { values: Record<string, FieldValue | null>; problems: FieldProblem[] } {
  const values: Record<string, FieldValue | null> = {};
  const problems: FieldProblem[] = [];
  for (const [fieldId, raw] of Object.entries(input)) {
    const path = `${pathPrefix}.${fieldId}`;
    const field = fields.get(fieldId);
    if (!field) {
      problems.push({ path, message: `no field ${fieldId} here`, code: 'field.unknown' });
      continue;
    }
    if (raw === null) {
      values[fieldId] = null;
      continue;
    }
    const result = checkValue(field, raw);
    if (result.ok) values[fieldId] = result.value;
    else problems.push({ path, message: `${field.label} ${result.message}`, code: result.code });
  }
  return { values, problems };
}

/** Lower-cased, accent-free, single-spaced title used for case-insensitive prefix search. */
export function normalizeTitle(title: string): string {
  return title.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim().slice(0, 200);
}
