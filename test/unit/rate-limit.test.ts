/**
 * 429s the API itself produces: the local gateway's stage throttle and a storage throttle the
 * SDK did not absorb. Each carries a problem+json body, Retry-After and the RateLimit headers,
 * and is what the OpenAPI document declares.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemResponse } from '../../functions/api/http';
import { buildOpenApiDocument } from '../../functions/api/openapi';
import { TokenBucket } from '../../functions/api/rate-limit';
import { createDevIssuer } from '../../infra/local/dev-issuer';
import { startGateway, type LambdaHandler, type RunningGateway } from '../../infra/local/gateway';
import { Contract } from '../support/contract';

const doc = buildOpenApiDocument() as any;
const contract = new Contract(doc);

let dir: string;
let gateway: RunningGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-throttle-'));
  const issuer = await createDevIssuer({ keyFile: join(dir, 'key.json') });
  gateway = await startGateway({
    issuer,
    port: 0,
    quiet: true,
    // A bucket that a test empties at once and that refills in no less than a second.
    throttle: { name: 'api', rate: 1, burst: 2 },
    loadHandler: async () => (async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"ok"}' })) as LambdaHandler,
  });
});

afterAll(async () => {
  await gateway?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('429 answers', () => {
  it('the local gateway throttles like the stage, with a problem body, Retry-After and RateLimit headers', async () => {
    const statuses: number[] = [];
    let throttled: Response | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gateway.url}/v1/health`);
      statuses.push(res.status);
      if (res.status === 429) throttled ??= res;
      else await res.text();
    }
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(throttled).toBeDefined();
    const res = throttled!;
    const text = await res.text();
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(res.headers.get('ratelimit-policy')).toBe('"api";q=1;w=1');
    expect(res.headers.get('ratelimit')).toMatch(/^"api";r=0;t=[1-9][0-9]*$/);
    const body = JSON.parse(text);
    expect(body).toMatchObject({
      status: 429,
      code: 'request.throttled',
      title: 'Too Many Requests',
      retryAfterSeconds: Number(res.headers.get('retry-after')),
    });
    // The served document declares this answer: body and headers.
    contract.check({ method: 'GET', path: '/v1/health', status: 429, contentType: res.headers.get('content-type'), text });
    expect(Object.keys(doc.paths['/v1/health'].get.responses['429'].headers)).toEqual(['Retry-After', 'RateLimit', 'RateLimit-Policy']);
  });

  it('a storage throttle the SDK could not absorb is a 429 to retry, not a 500', () => {
    const error = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
    const result = problemResponse(error, 'req-1', '/v1/cards/card_01JD0000000000000000000000');
    expect(result.statusCode).toBe(429);
    expect(result.headers).toMatchObject({
      'content-type': 'application/problem+json',
      'retry-after': '1',
      ratelimit: '"api";r=0;t=1',
      'ratelimit-policy': '"api";q=100;w=1',
    });
    const body = JSON.parse(result.body as string);
    expect(body).toMatchObject({ status: 429, code: 'request.throttled', retryAfterSeconds: 1, requestId: 'req-1' });
    contract.check({
      method: 'GET',
      path: '/v1/cards/card_01JD0000000000000000000000',
      status: 429,
      contentType: 'application/problem+json',
      text: result.body as string,
    });
    // Every operation declares its 429 with the same headers.
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) expect(Object.keys(op.responses['429']?.headers ?? {}), `${method} ${path}`).toContain('Retry-After');
    }
  });

  it('the token bucket admits a burst, then the steady rate', () => {
    const bucket = new TokenBucket({ name: 'api', rate: 10, burst: 3 }, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)].every((r) => r.ok)).toBe(true);
    expect(bucket.take(0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(bucket.take(100).ok).toBe(true);
    expect(bucket.take(100).ok).toBe(false);
  });
});
