/**
 * CORS for browser clients, the same in AWS (the HTTP API's CORS configuration, origins from the
 * stage file's `corsOrigins`) and in npm start (the local gateway, `--cors-origins`). No origin is
 * allowed by default. Bearer tokens, not cookies: no credentials.
 */
import { REPLAYED_HEADER } from '../../domain/idempotency/idempotency';

/** Request headers a browser may send: auth, body type, idempotency, preconditions. */
export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'if-match', 'if-none-match'];
/** Response headers a browser script may read. */
export const CORS_EXPOSE_HEADERS = ['etag', 'location', REPLAYED_HEADER, 'retry-after', 'ratelimit', 'ratelimit-policy'];
export const CORS_MAX_AGE_SECONDS = 3600;

/** An origin as browsers send it: scheme, host and optional port, nothing else. */
export function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}
