/**
 * The local gateway over real HTTP, with stand-in handlers: the JWT authorizer, the event and
 * Lambda context a handler receives, and how results and failures become responses.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { importJWK, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDevIssuer, DEV_AUDIENCE, DEV_ISSUER, type DevIssuer } from '../../infra/local/dev-issuer';
import { startGateway, type ApiEvent, type LambdaHandler, type RunningGateway } from '../../infra/local/gateway';

let dir: string;
let issuer: DevIssuer;
let gateway: RunningGateway;
let calls: Array<{ route: string; event: ApiEvent; context: Context }> = [];
let behaviour: (event: ApiEvent, context: Context) => unknown;
const errors: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-gateway-'));
  issuer = await createDevIssuer({ keyFile: join(dir, 'key.json') });
  gateway = await startGateway({
    issuer,
    port: 0,
    quiet: true,
    maxBodyBytes: 1024,
    timeoutMs: 300,
    logError: (message) => errors.push(message),
    loadHandler: async (route) => {
      if (route.handler.module === 'records') throw new Error('functions/api/records.ts could not be loaded: not written yet');
      if (route.id === 'openapi') {
        // A callback-style handler, as the Node.js Lambda runtime still supports.
        return ((_event, _context, callback) => setTimeout(() => callback!(null, { statusCode: 200, body: 'via callback' }), 5)) as LambdaHandler;
      }
      const handler: LambdaHandler = async (event, context) => {
        calls.push({ route: route.id, event, context });
        return behaviour(event, context);
      };
      return handler;
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  calls = [];
  errors.length = 0;
  behaviour = () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** Signs a payload as is (iat and nbf included), with the dev key, for 1 hour. */
async function signRaw(payload: Record<string, unknown>): Promise<string> {
  const key = await importJWK(JSON.parse(await readFile(join(dir, 'key.json'), 'utf8')).privateJwk, 'ES256');
  return new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: 'ES256', kid: issuer.jwks.keys[0]!.kid! })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setExpirationTime('1h')
    .sign(key);
}
const memberToken = () => issuer.mintToken({ orgId: 'org_http', role: 'member', sub: 'u-1' });

describe('the authorizer (JWTs and API tokens)', () => {
  it('lets public routes through without a token and without an authorizer context', async () => {
    const response = await fetch(`${gateway.url}/v1/health`);
    expect(response.status).toBe(200);
    expect(calls[0]!.event.requestContext).not.toHaveProperty('authorizer');
  });

  it('refuses a protected route without a token, with a Bearer challenge', async () => {
    const response = await fetch(`${gateway.url}/v1/pipes`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toMatchObject({
      status: 401,
      code: 'auth.unauthorized',
      title: 'Unauthorized',
      type: expect.any(String),
      detail: expect.any(String),
    });
    expect(calls).toHaveLength(0);
  });

  it.each([
    ['garbage', async () => 'not-a-jwt', 'not a valid JWT'],
    ['expired', () => issuer.mintToken({ orgId: 'o', role: 'admin', expiresIn: '-5m' }), 'expired'],
    ['wrong audience', () => issuer.sign({ org_id: 'o', role: 'admin', sub: 'u' }, { audience: 'someone-else' }), 'aud'],
    ['wrong issuer', () => issuer.sign({ org_id: 'o', role: 'admin', sub: 'u' }, { issuer: 'https://evil.example' }), 'iss'],
  ])('refuses a %s token', async (_name, make, hint) => {
    const response = await fetch(`${gateway.url}/v1/pipes`, { headers: bearer(await make()) });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect(((await response.json()) as { detail: string }).detail).toContain(hint);
    expect(calls).toHaveLength(0);
  });

  it('refuses a token signed by another key', async () => {
    const stranger = await createDevIssuer({ keyFile: join(dir, 'other-key.json') });
    const response = await fetch(`${gateway.url}/v1/pipes`, { headers: bearer(await stranger.mintToken({ orgId: 'o', role: 'admin' })) });
    expect(response.status).toBe(401);
  });

  it('refuses a token that is not sent as Bearer', async () => {
    const response = await fetch(`${gateway.url}/v1/pipes`, { headers: { authorization: `Basic ${await memberToken()}` } });
    expect(response.status).toBe(401);
  });

  it("passes a valid token on as the authorizer's context", async () => {
    const response = await fetch(`${gateway.url}/v1/pipes`, { headers: bearer(await memberToken()) });
    expect(response.status).toBe(200);
    expect(calls[0]!.event.requestContext.authorizer.lambda).toEqual({ orgId: 'org_http', role: 'member', sub: 'u-1', kind: 'user' });
  });

  it.each([
    ['a numeric org_id', { org_id: 123, role: 'admin', sub: 'u' }, {}, 'org_id'],
    ['an iat in the future', { org_id: 'o', role: 'admin', sub: 'u', iat: Math.floor(Date.now() / 1000) + 3600 }, {}, 'iat'],
    ['an nbf in the future', { org_id: 'o', role: 'admin', sub: 'u', nbf: Math.floor(Date.now() / 1000) + 3600 }, {}, 'nbf'],
    ['a role outside the list', { org_id: 'o', role: 'owner', sub: 'u' }, {}, 'role'],
  ])('refuses a token with %s', async (_name, payload, _options, hint) => {
    const token = await signRaw(payload);
    const response = await fetch(`${gateway.url}/v1/pipes`, { headers: bearer(token) });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { detail: string }).detail).toContain(hint);
    expect(calls).toHaveLength(0);
  });

  it('accepts an iat a few seconds ahead (clock skew)', async () => {
    const token = await signRaw({ org_id: 'o', role: 'admin', sub: 'u', iat: Math.floor(Date.now() / 1000) + 20 });
    expect((await fetch(`${gateway.url}/v1/pipes`, { headers: bearer(token) })).status).toBe(200);
  });
});

describe('the event and context a handler receives', () => {
  it('carries route, path parameters, query, headers and body', async () => {
    await fetch(`${gateway.url}/v1/pipes/pipe_x%20y/cards?limit=2&phaseId=a&phaseId=b`, {
      method: 'POST',
      headers: { ...bearer(await memberToken()), 'Content-Type': 'application/json', 'X-Trace': 't1', cookie: 'a=1; b=2' },
      body: JSON.stringify({ title: 'Hello' }),
    });
    const { route, event, context } = calls[0]!;
    expect(route).toBe('createCard');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/pipes/{pipeId}/cards',
      rawPath: '/v1/pipes/pipe_x%20y/cards',
      rawQueryString: 'limit=2&phaseId=a&phaseId=b',
      pathParameters: { pipeId: 'pipe_x y' },
      queryStringParameters: { limit: '2', phaseId: 'a,b' },
      cookies: ['a=1', 'b=2'],
      body: '{"title":"Hello"}',
      isBase64Encoded: false,
      requestContext: {
        stage: '$default',
        routeKey: 'POST /v1/pipes/{pipeId}/cards',
        http: { method: 'POST', path: '/v1/pipes/pipe_x%20y/cards', protocol: 'HTTP/1.1' },
      },
    });
    expect(event.headers).toMatchObject({ 'content-type': 'application/json', 'x-trace': 't1' });
    expect(event.requestContext.http.sourceIp).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(context.functionName).toBe('cardflow-cards');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(300);
  });

  it('gives every request its own request id, echoed as apigw-requestid', async () => {
    const a = await fetch(`${gateway.url}/v1/health`);
    const b = await fetch(`${gateway.url}/v1/health`);
    expect(calls[0]!.event.requestContext.requestId).not.toBe(calls[1]!.event.requestContext.requestId);
    expect(a.headers.get('apigw-requestid')).toBe(calls[0]!.event.requestContext.requestId);
    expect(b.headers.get('apigw-requestid')).toBe(calls[1]!.event.requestContext.requestId);
  });

  it('base64-encodes a binary body', async () => {
    const bytes = new Uint8Array([0, 159, 146, 150]);
    await fetch(`${gateway.url}/v1/pipes`, {
      method: 'POST',
      headers: { ...bearer(await memberToken()), 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    const { event } = calls[0]!;
    expect(event.isBase64Encoded).toBe(true);
    expect(new Uint8Array(Buffer.from(event.body!, 'base64'))).toEqual(bytes);
  });

  it('refuses a body above the gateway limit with 413 before invoking', async () => {
    const response = await fetch(`${gateway.url}/v1/pipes`, {
      method: 'POST',
      headers: { ...bearer(await memberToken()), 'content-type': 'application/json' },
      body: 'x'.repeat(2048),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(calls).toHaveLength(0);
  });
});

describe('responses', () => {
  it('writes status, headers, cookies and body of a structured result', async () => {
    behaviour = () => ({
      statusCode: 201,
      headers: { 'content-type': 'application/json', etag: '"1"', location: '/v1/cards/c' },
      cookies: ['a=1; Path=/', 'b=2'],
      body: '{"id":"c"}',
    });
    const response = await fetch(`${gateway.url}/v1/health`);
    expect(response.status).toBe(201);
    expect(response.headers.get('etag')).toBe('"1"');
    expect(response.headers.get('location')).toBe('/v1/cards/c');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(await response.json()).toEqual({ id: 'c' });
  });

  it('writes a 204 without a body', async () => {
    behaviour = () => ({ statusCode: 204, headers: { etag: '"2"' } });
    const response = await fetch(`${gateway.url}/v1/health`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it('decodes a base64 result', async () => {
    behaviour = () => ({
      statusCode: 200,
      headers: { 'content-type': 'image/png' },
      body: Buffer.from([137, 80, 78, 71]).toString('base64'),
      isBase64Encoded: true,
    });
    const response = await fetch(`${gateway.url}/v1/health`);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([137, 80, 78, 71]));
  });

  it('supports the shorthand: a plain object is a 200 JSON body', async () => {
    behaviour = async () => ({ status: 'ok' });
    const response = await fetch(`${gateway.url}/v1/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('turns a throwing handler into a 500 problem without internals', async () => {
    behaviour = async () => {
      throw new Error('secret internal detail');
    };
    const response = await fetch(`${gateway.url}/v1/health`);
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const body = await response.json();
    expect(body).toMatchObject({ status: 500, title: 'Internal Server Error', code: 'internal' });
    expect(JSON.stringify(body)).not.toContain('secret internal detail');
    expect(errors).toHaveLength(1);
  });

  it('supports callback-style handlers', async () => {
    const response = await fetch(`${gateway.url}/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('via callback');
  });

  it('turns a malformed result into a 500', async () => {
    behaviour = () => ({ statusCode: 1234 });
    expect((await fetch(`${gateway.url}/v1/health`)).status).toBe(500);
  });

  it('answers 500 naming the module when a handler module cannot be loaded', async () => {
    const response = await fetch(`${gateway.url}/v1/records/rec_1`, { headers: bearer(await memberToken()) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { detail: string }).detail).toContain('records.ts');
  });

  it('answers 503 when the handler outlives the integration timeout', async () => {
    behaviour = () => new Promise(() => undefined);
    const response = await fetch(`${gateway.url}/v1/health`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'gateway.timeout' });
  });

  it('answers 404 and 405 as problem+json', async () => {
    const notFound = await fetch(`${gateway.url}/v2/nothing`);
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('content-type')).toBe('application/problem+json');
    expect(await notFound.json()).toMatchObject({
      status: 404,
      code: 'route.notFound',
      title: 'Not Found',
      type: expect.any(String),
      detail: expect.any(String),
    });
    const wrongMethod = await fetch(`${gateway.url}/v1/health`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect(await wrongMethod.json()).toMatchObject({ status: 405, code: 'route.methodNotAllowed' });
  });

  it('serves the public keys at /.well-known/jwks.json', async () => {
    const response = await fetch(`${gateway.url}/.well-known/jwks.json`);
    const jwks = (await response.json()) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});

describe('the dev issuer key', () => {
  it('is persisted on first use and reused afterwards', async () => {
    const keyFile = join(dir, 'nested', 'persisted.json');
    const first = await createDevIssuer({ keyFile });
    const token = await first.mintToken({ orgId: 'o', role: 'viewer', sub: 'u' });
    const second = await createDevIssuer({ keyFile });
    await expect(second.verify(token)).resolves.toMatchObject({ org_id: 'o', role: 'viewer', sub: 'u' });
    expect(second.jwks).toEqual(first.jwks);
    expect(JSON.parse(await readFile(keyFile, 'utf8')).privateJwk.d).toEqual(expect.any(String));
  });

  it('ends with one key when several processes create it at once', async () => {
    const keyFile = join(dir, 'race.json');
    const issuers = await Promise.all([1, 2, 3, 4].map(() => createDevIssuer({ keyFile })));
    expect(new Set(issuers.map((i) => i.jwks.keys[0]!.kid)).size).toBe(1);
  });

  it('mints tokens with the claims the handlers read and a 12h default lifetime', async () => {
    const claims = await issuer.verify(await issuer.mintToken({ orgId: 'acme', role: 'admin' }));
    expect(claims).toMatchObject({ org_id: 'acme', role: 'admin', sub: 'dev-admin', iss: DEV_ISSUER, aud: DEV_AUDIENCE });
    expect(claims.exp! - claims.iat!).toBe(12 * 3600);
  });
});

describe('CORS (origins from settings; none by default)', () => {
  const allowed = 'https://app.example.com';
  let cors: RunningGateway;
  beforeAll(async () => {
    cors = await startGateway({
      issuer,
      port: 0,
      quiet: true,
      corsOrigins: [allowed],
      loadHandler: async () => async () => ({ statusCode: 200, headers: { 'content-type': 'application/json', etag: '"1"' }, body: '{}' }),
    });
  });
  afterAll(async () => {
    await cors?.close();
  });
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/v1/pipes`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  it('answers a preflight from an allowed origin without a token', async () => {
    const response = await preflight(cors.url, allowed);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(response.headers.get('access-control-allow-headers')).toContain('if-none-match');
    expect(response.headers.get('access-control-max-age')).toBe('3600');
  });

  it('gives another origin no CORS headers, on the preflight and on the answer', async () => {
    const response = await preflight(cors.url, 'https://evil.example');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${cors.url}/v1/pipes`, { headers: { origin: 'https://evil.example', ...bearer(await memberToken()) } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets an allowed origin read the answer and its ETag', async () => {
    const get = await fetch(`${cors.url}/v1/pipes`, { headers: { origin: allowed, ...bearer(await memberToken()) } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(get.headers.get('access-control-expose-headers')).toContain('etag');
    expect(get.headers.get('vary')).toContain('origin');
    // Refusals too: a browser script must be able to read why it was refused.
    const refused = await fetch(`${cors.url}/v1/pipes`, { headers: { origin: allowed } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(allowed);
  });

  it('without settings, OPTIONS is just a method no route accepts', async () => {
    const response = await preflight(gateway.url, allowed);
    expect(response.status).toBe(405);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
