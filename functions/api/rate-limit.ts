/**
 * 429 answers: what the code itself produces (a storage throttle it could not absorb, the local
 * gateway's throttle) as a problem+json body with `Retry-After` and the IETF RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "name";q=<quota>;w=<window s>`,
 * `RateLimit: "name";r=<remaining>;t=<seconds until quota is back>`), so a client can back off
 * by the headers alone. In AWS, requests over the stage throttle are refused by API Gateway
 * before any code runs; those 429s are the gateway's own (see the README).
 */
import { AppError } from '../../domain/kernel/errors';

export interface RateLimitPolicy {
  /** The policy's name in the headers. */
  name: string;
  /** Steady requests per second. */
  rate: number;
  /** Requests that may arrive at once (the bucket's size). */
  burst: number;
}

const envNumber = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

/**
 * The API's published limit: the stage throttle (settings' throttle; 100 requests/s, bursts of
 * 200 on the dev stage), which the deployment passes as API_THROTTLE_RATE / API_THROTTLE_BURST.
 */
export function apiPolicy(): RateLimitPolicy {
  return { name: 'api', rate: envNumber('API_THROTTLE_RATE', 100), burst: envNumber('API_THROTTLE_BURST', 200) };
}

/** `RateLimit-Policy` and `RateLimit` for an answer that leaves `remaining` requests, back in `resetSeconds`. */
export function rateLimitHeaders(policy: RateLimitPolicy, remaining: number, resetSeconds: number): Record<string, string> {
  const r = Math.max(0, Math.floor(remaining));
  const t = Math.max(0, Math.ceil(resetSeconds));
  return {
    'ratelimit-policy': `"${policy.name}";q=${policy.rate};w=1`,
    ratelimit: `"${policy.name}";r=${r};t=${t}`,
  };
}

/** 429: too many requests; the problem carries retryAfterSeconds, the answer Retry-After. */
export class ThrottledError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'request.throttled', message, [], { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }
}

/** AWS SDK error names of a throttle the SDK's own retries did not absorb. */
const THROTTLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'Throttling',
]);

/** A storage (DynamoDB, KMS…) throttle as a 429 the client may retry; anything else unchanged. */
export function asThrottle(error: unknown): unknown {
  const name = (error as { name?: string } | null)?.name;
  if (!name || !THROTTLE_NAMES.has(name)) return error;
  return new ThrottledError('The service is busy right now; retry after the pause Retry-After gives', 1);
}

/**
 * A token bucket: `burst` requests at once, refilled at `rate` per second. The local gateway
 * runs one for the whole API, as API Gateway's stage throttle is one for the stage.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly policy: RateLimitPolicy,
    now = Date.now(),
  ) {
    this.tokens = policy.burst;
    this.last = now;
  }

  take(now = Date.now()): { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number } {
    this.tokens = Math.min(this.policy.burst, this.tokens + ((now - this.last) / 1000) * this.policy.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, remaining: this.tokens };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.policy.rate)) };
  }
}
