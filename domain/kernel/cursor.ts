/**
 * Opaque pagination cursors. A cursor is the query's state signed with HMAC-SHA256 under a
 * secret key and bound to the query it came from (its scope, which includes the organization):
 * a client can neither alter one nor forge one, nor replay it into another query or tenant.
 * Even so, the start key inside is checked against the partition and key shape the query
 * reads, so a cursor that slipped through could never make DynamoDB fail the query (a 500).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type AppError, BadRequestError } from './errors';
import { TABLE_DEFINITION } from './table';

type Key = Record<string, unknown>;

/** Below this a key is guessable in principle; the settings generate 32 random bytes. */
export const MIN_CURSOR_KEY_BYTES = 32;

let signingKey: Buffer | undefined;

/** Sets the key cursors are signed with (functions/shared/cursor-key.ts loads it from settings). */
export function setCursorKey(key: Buffer): void {
  if (key.length < MIN_CURSOR_KEY_BYTES) throw new Error(`The cursor signing key must have at least ${MIN_CURSOR_KEY_BYTES} bytes`);
  signingKey = Buffer.from(key);
}

export function hasCursorKey(): boolean {
  return signingKey !== undefined;
}

function key(): Buffer {
  // A configuration fault, not the client's: 500, logged with the request id.
  if (!signingKey) throw new Error('No cursor signing key is configured (CURSOR_SIGNING_KEY or CURSOR_SIGNING_KEY_SECRET_ARN)');
  return signingKey;
}

const tag = (scope: string, payload: string) => createHmac('sha256', key()).update(scope).update('\0').update(payload).digest();

export function encodeCursor(scope: string, state: { key?: Key; [extra: string]: unknown }): string {
  const payload = Buffer.from(JSON.stringify(state)).toString('base64url');
  return `${payload}.${tag(scope, payload).toString('base64url')}`;
}

const invalid = (): AppError =>
  new BadRequestError('The cursor is invalid, altered, or belongs to another query; start again without one', [
    { path: 'query.cursor', message: 'not a cursor of this query', code: 'request.invalidCursor' },
  ]);

/** The sort-key attribute of the index whose partition key is `attribute` (GSI3 sorts by updatedAt). */
function sortKeyOf(attribute: string): string {
  return TABLE_DEFINITION.globalSecondaryIndexes.find((g) => g.partitionKey === attribute)?.sortKey ?? attribute.replace(/PK$/, 'SK');
}

export interface CursorBounds {
  /** Attributes of the start key whose value must start with this prefix (the query's sort-key range). */
  sortPrefix?: Record<string, string>;
}

export function decodeCursor<T extends { key?: Key }>(
  scope: string,
  cursor: string,
  /** Each attribute of the start key that must hold the value the query reads. */
  expectedPartition: (state: T) => Record<string, string>,
  bounds: CursorBounds = {},
): T {
  const [payload, sent, ...rest] = cursor.split('.');
  if (!payload || !sent || rest.length) throw invalid();
  // Compared as text, not as decoded bytes: a tag's last character carries unused bits, and a
  // decoder ignores them, so a changed character there would otherwise still pass.
  const expected = Buffer.from(tag(scope, payload).toString('base64url'));
  const given = Buffer.from(sent);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let state: T;
  try {
    state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
  } catch {
    throw invalid();
  }
  if (typeof state !== 'object' || state === null) throw invalid();
  if (state.key !== undefined) {
    const start = state.key;
    if (typeof start !== 'object' || start === null || Array.isArray(start)) throw invalid();
    if (!Object.values(start).every((v) => typeof v === 'string')) throw invalid();
    const partition = expectedPartition(state);
    // A start key names the table's key and, on an index, the index's key too.
    const required = new Set(['PK', 'SK', ...Object.keys(partition).flatMap((a) => [a, sortKeyOf(a)])]);
    for (const attribute of required) if (typeof start[attribute] !== 'string') throw invalid();
    for (const [attribute, value] of Object.entries(partition)) if (start[attribute] !== value) throw invalid();
    for (const [attribute, prefix] of Object.entries(bounds.sortPrefix ?? {})) {
      if (!(start[attribute] as string).startsWith(prefix)) throw invalid();
    }
  }
  return state;
}
