/**
 * Opaque pagination cursors. A cursor is bound to the query it came from (its scope, which
 * includes the organization) by a digest, and the start key inside it is checked against the
 * partition the query reads, so it cannot be altered or replayed into another tenant's keys.
 */
import { createHash } from 'node:crypto';
import { BadRequestError } from '../errors';

type Key = Record<string, unknown>;

const digest = (scope: string, payload: string) =>
  createHash('sha256').update(scope).update('\0').update(payload).digest('base64url').slice(0, 22);

export function encodeCursor(scope: string, state: { key?: Key; [extra: string]: unknown }): string {
  const payload = Buffer.from(JSON.stringify(state)).toString('base64url');
  return `${payload}.${digest(scope, payload)}`;
}

const invalid = () =>
  new BadRequestError('The cursor is invalid, altered, or belongs to another query; start again without one', [
    { path: 'query.cursor', message: 'not a cursor of this query', code: 'request.invalidCursor' },
  ]);

export function decodeCursor<T extends { key?: Key }>(
  scope: string,
  cursor: string,
  /** Each attribute of the start key that must hold the value the query reads. */
  expectedPartition: (state: T) => Record<string, string>,
): T {
  const [payload, tag] = cursor.split('.');
  if (!payload || !tag || digest(scope, payload) !== tag) throw invalid();
  let state: T;
  try {
    state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
  } catch {
    throw invalid();
  }
  if (typeof state !== 'object' || state === null) throw invalid();
  if (state.key !== undefined) {
    if (typeof state.key !== 'object' || state.key === null) throw invalid();
    for (const [attribute, value] of Object.entries(expectedPartition(state))) {
      if (state.key[attribute] !== value) throw invalid();
    }
    if (!Object.values(state.key).every((v) => typeof v === 'string')) throw invalid();
  }
  return state;
}
