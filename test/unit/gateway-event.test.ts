/**
 * The local gateway's translation work, without a server: route matching as API Gateway does
 * it, the payload format 2.0 event, and the 2.0 response rules.
 */
import { describe, expect, it } from 'vitest';
import { routeList } from '../../functions/api/routes';
import { apiGatewayTime, buildEvent, compileRoutes, isTextContentType, MalformedResultError, matchRoute, toHttpReply } from '../../infra/local/gateway';

const compiled = compileRoutes(routeList);

describe('matchRoute', () => {
  it('matches a template and decodes path parameters', () => {
    const match = matchRoute(compiled, 'GET', '/v1/cards/card_%C3%A9t%C3%A9%20x');
    expect(match).toEqual({
      kind: 'route',
      route: expect.objectContaining({ id: 'getCard', path: '/v1/cards/{cardId}' }),
      pathParameters: { cardId: 'card_été x' },
    });
  });

  it('matches nested templates with several parameters', () => {
    const match = matchRoute(compiled, 'PATCH', '/v1/pipes/pipe_1/phases/phase_2');
    expect(match.kind === 'route' && match.route.id).toBe('updatePhase');
    expect(match.kind === 'route' && match.pathParameters).toEqual({ pipeId: 'pipe_1', phaseId: 'phase_2' });
  });

  it('prefers the route with more literal segments, as API Gateway does', () => {
    const routes = compileRoutes([
      { ...routeList[0]!, id: 'byId', method: 'GET', path: '/v1/things/{id}' },
      { ...routeList[0]!, id: 'special', method: 'GET', path: '/v1/things/special' },
    ]);
    expect(matchRoute(routes, 'GET', '/v1/things/special')).toMatchObject({ kind: 'route', route: { id: 'special' } });
    expect(matchRoute(routes, 'GET', '/v1/things/other')).toMatchObject({ kind: 'route', route: { id: 'byId' }, pathParameters: { id: 'other' } });
  });

  it('answers method-not-allowed with the methods the path accepts', () => {
    expect(matchRoute(compiled, 'PUT', '/v1/pipes')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'POST'] });
    expect(matchRoute(compiled, 'POST', '/v1/cards/card_1')).toEqual({ kind: 'method-not-allowed', allow: ['DELETE', 'GET', 'PATCH'] });
  });

  it('does not match unknown paths, trailing slashes or empty parameters', () => {
    expect(matchRoute(compiled, 'GET', '/v1/nothing')).toEqual({ kind: 'not-found' });
    expect(matchRoute(compiled, 'GET', '/v1/pipes/')).toEqual({ kind: 'not-found' });
    expect(matchRoute(compiled, 'GET', '/v1/cards//move')).toEqual({ kind: 'not-found' });
    expect(matchRoute(compiled, 'GET', '/v1/cards/card_1/extra/segments')).toEqual({ kind: 'not-found' });
  });
});

describe('buildEvent', () => {
  const now = new Date('2026-11-27T09:30:05.123Z');
  const authorizer = { orgId: 'org_a', role: 'member', sub: 'u1', kind: 'user' } as const;

  const event = buildEvent({
    request: {
      method: 'PATCH',
      url: '/v1/cards/card_a%2Fb?limit=5&tag=a&tag=b&q=x%20y&empty',
      headers: {
        Host: 'localhost:3000',
        'Content-Type': 'application/json',
        'User-Agent': 'vitest',
        'X-Multi': ['one', 'two'],
        Cookie: ['session=abc; theme=dark', 'lang=pt'],
      },
      body: Buffer.from('{"values":{}}'),
      sourceIp: '127.0.0.1',
      protocol: 'HTTP/1.1',
    },
    route: { method: 'PATCH', path: '/v1/cards/{cardId}' },
    pathParameters: { cardId: 'card_a/b' },
    authorizer,
    requestId: 'req-1',
    now,
  });

  it('has the payload format 2.0 envelope', () => {
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'PATCH /v1/cards/{cardId}',
      rawPath: '/v1/cards/card_a%2Fb',
      rawQueryString: 'limit=5&tag=a&tag=b&q=x%20y&empty',
      pathParameters: { cardId: 'card_a/b' },
      body: '{"values":{}}',
      isBase64Encoded: false,
    });
  });

  it('decodes query parameters and joins repeated ones with commas', () => {
    expect(event.queryStringParameters).toEqual({ limit: '5', tag: 'a,b', q: 'x y', empty: '' });
  });

  it('lower-cases headers, joins duplicates and moves cookies out of them', () => {
    expect(event.headers).toMatchObject({ host: 'localhost:3000', 'content-type': 'application/json', 'user-agent': 'vitest', 'x-multi': 'one,two' });
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.headers['cookie']).toBeUndefined();
    expect(event.cookies).toEqual(['session=abc', 'theme=dark', 'lang=pt']);
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(event.headers['x-forwarded-port']).toBe('3000');
  });

  it('fills requestContext like API Gateway', () => {
    expect(event.requestContext).toMatchObject({
      accountId: expect.any(String),
      apiId: expect.any(String),
      domainName: 'localhost:3000',
      domainPrefix: 'localhost',
      http: { method: 'PATCH', path: '/v1/cards/card_a%2Fb', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req-1',
      routeKey: 'PATCH /v1/cards/{cardId}',
      stage: '$default',
      time: '27/Nov/2026:09:30:05 +0000',
      timeEpoch: now.getTime(),
    });
  });

  it("hands over the authorizer's context as a Lambda authorizer's simple response does", () => {
    expect(event.requestContext.authorizer).toEqual({ lambda: { orgId: 'org_a', role: 'member', sub: 'u1', kind: 'user' } });
  });

  it('leaves out what the request does not have', () => {
    const bare = buildEvent({
      request: { method: 'GET', url: '/v1/health', headers: { host: 'localhost:3000' }, sourceIp: '::1', protocol: 'HTTP/1.1' },
      route: { method: 'GET', path: '/v1/health' },
      pathParameters: {},
    });
    expect(bare.rawQueryString).toBe('');
    expect(bare).not.toHaveProperty('queryStringParameters');
    expect(bare).not.toHaveProperty('pathParameters');
    expect(bare).not.toHaveProperty('body');
    expect(bare).not.toHaveProperty('cookies');
    expect(bare.requestContext).not.toHaveProperty('authorizer');
    expect(bare.isBase64Encoded).toBe(false);
    expect(bare.requestContext.requestId).toMatch(/^[A-Za-z0-9+/]{14}==$/);
  });

  it('base64-encodes bodies that are not text', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const binary = buildEvent({
      request: {
        method: 'POST',
        url: '/v1/pipes',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
        sourceIp: '127.0.0.1',
        protocol: 'HTTP/1.1',
      },
      route: { method: 'POST', path: '/v1/pipes' },
      pathParameters: {},
    });
    expect(binary.isBase64Encoded).toBe(true);
    expect(Buffer.from(binary.body!, 'base64')).toEqual(bytes);
  });

  it('knows text content types', () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/problem+json',
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
    ]) {
      expect(isTextContentType(type), type).toBe(true);
    }
    for (const type of [undefined, 'application/octet-stream', 'image/png', 'multipart/form-data; boundary=x']) {
      expect(isTextContentType(type), String(type)).toBe(false);
    }
  });
});

describe('apiGatewayTime', () => {
  it('formats the request time', () => {
    expect(apiGatewayTime(new Date('2020-03-02T19:03:58Z'))).toBe('02/Mar/2020:19:03:58 +0000');
  });
});

describe('toHttpReply (payload format 2.0 responses)', () => {
  it('passes a structured result through', () => {
    const reply = toHttpReply({
      statusCode: 201,
      headers: { 'Content-Type': 'application/json', ETag: '"1"', 'X-Count': 3 as unknown as string },
      body: '{"id":"x"}',
      cookies: ['a=1', 'b=2'],
    });
    expect(reply).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'application/json', etag: '"1"', 'x-count': '3' },
      cookies: ['a=1', 'b=2'],
      body: Buffer.from('{"id":"x"}'),
    });
  });

  it('decodes base64 bodies', () => {
    const reply = toHttpReply({ statusCode: 200, body: Buffer.from([1, 2, 3]).toString('base64'), isBase64Encoded: true });
    expect(reply.body).toEqual(Buffer.from([1, 2, 3]));
  });

  it('treats a result without statusCode as a 200 JSON body', () => {
    expect(toHttpReply({ hello: 'world' })).toMatchObject({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"hello":"world"}'),
    });
    expect(toHttpReply('plain')).toMatchObject({ statusCode: 200, body: Buffer.from('plain') });
    expect(toHttpReply([1, 2])).toMatchObject({ statusCode: 200, body: Buffer.from('[1,2]') });
  });

  it('refuses a malformed status code', () => {
    expect(() => toHttpReply({ statusCode: 42 })).toThrow(MalformedResultError);
    expect(() => toHttpReply({ statusCode: 'abc' })).toThrow(MalformedResultError);
  });
});
