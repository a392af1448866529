/**
 * Idempotent retries of POST requests (the `Idempotency-Key` header), the pure part: the key's
 * syntax, the request fingerprint, the errors a client can meet. The record itself lives in
 * domain/idempotency/store.ts and the flow in functions/api/http.ts.
 */
import { createHash } from 'node:crypto';
import { AppError, BadRequestError } from '../kernel/errors';

/** A key is honoured for 24 hours after its first use (the item's TTL). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set on a response that was replayed from the record rather than produced now. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/** Printable ASCII (space to tilde), 1 to 255 characters: UUIDs, ULIDs, anything a client mints. */
const KEY = /^[\x20-\x7E]{1,255}$/;

/** The key of a request, or undefined when it sent none (the header is optional). */
export function parseIdempotencyKey(headers: Record<string, string | undefined>): string | undefined {
  const raw = headers[IDEMPOTENCY_KEY_HEADER];
  if (raw === undefined) return undefined;
  const key = raw.trim();
  if (!KEY.test(key)) {
    throw new BadRequestError('Idempotency-Key must be 1 to 255 printable ASCII characters', [
      { path: `headers.${IDEMPOTENCY_KEY_HEADER}`, message: 'must be 1 to 255 printable ASCII characters', code: 'request.badIdempotencyKey' },
    ]);
  }
  return key;
}

/** JSON with object keys sorted at every depth: two bodies that mean the same hash the same. */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }) ?? ''
  );
}

/**
 * What a key is bound to: method, path (with its ids), query and the body as sent (before
 * trimming or defaults, so any difference the client made counts). SHA-256, hex.
 */
export function requestFingerprint(request: { method: string; path: string; query?: string; body: unknown }): string {
  return createHash('sha256')
    .update(`${request.method.toUpperCase()}\n${request.path}\n${request.query ?? ''}\n${canonicalJson(request.body)}`)
    .digest('hex');
}

export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    super(
      422,
      'idempotency.keyReused',
      'This Idempotency-Key was already used for a different request (another body or path); use a new key for a new request',
      [{ path: `headers.${IDEMPOTENCY_KEY_HEADER}`, message: 'already used for a different request', code: 'idempotency.keyReused' }],
    );
  }
}

export class IdempotencyInProgressError extends AppError {
  constructor(retryAfterSeconds = 1) {
    super(409, 'idempotency.inProgress', 'A request with this Idempotency-Key is still in progress; retry it shortly to get its response', [], {
      retryAfterSeconds,
    });
  }
}

/**
 * The first request succeeded, but its response was too large to keep (see
 * domain/idempotency/store.ts). Nothing runs again; the client reads the result at Location.
 */
export class IdempotencyResponseNotKeptError extends AppError {
  constructor(originalStatus: number) {
    super(
      409,
      'idempotency.responseNotKept',
      'The request with this Idempotency-Key succeeded, but its response was too large to keep; read the resource at the Location header',
      [],
      { originalStatus },
    );
  }
}
