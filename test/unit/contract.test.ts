/**
 * The validator the e2e tests run every response through (test/support/contract.ts) must
 * catch lies, or a green e2e run proves nothing. Fed the generated document and responses that
 * break it in each way a server can, it refuses every one; fed honest ones, it accepts them.
 */
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, problemStatuses } from '../../functions/api/openapi';
import { routeList } from '../../functions/api/routes';
import { Contract, ContractViolation, type ObservedResponse } from '../support/contract';

const doc = buildOpenApiDocument() as any;
const contract = new Contract(doc);

const now = '2026-12-01T10:00:00.000Z';
const ulid = '01JD0000000000000000000000';
const dbSummary = { id: `db_${ulid}`, name: 'Suppliers', version: 1, createdAt: now, updatedAt: now };
const problem = {
  type: 'urn:cardflow:problem:x',
  title: 'Precondition Failed',
  status: 412,
  detail: 'stale',
  code: 'request.preconditionFailed',
  requestId: 'r1',
};

const json = (method: string, path: string, status: number, body: unknown, contentType = 'application/json'): ObservedResponse => ({
  method,
  path,
  status,
  contentType,
  text: body === undefined ? '' : JSON.stringify(body),
});

describe('the contract validator', () => {
  it('accepts honest responses: a database page, a problem, a 204', () => {
    expect(contract.problemsOf(json('GET', '/v1/databases', 200, { items: [dbSummary], nextCursor: null }))).toEqual([]);
    expect(contract.problemsOf(json('DELETE', `/v1/cards/card_${ulid}`, 412, problem, 'application/problem+json'))).toEqual([]);
    expect(contract.problemsOf(json('DELETE', `/v1/cards/card_${ulid}`, 204, undefined, null as never))).toEqual([]);
  });

  it('refuses a status the operation does not declare', () => {
    expect(contract.problemsOf(json('GET', '/v1/pipes', 418, problem, 'application/problem+json'))[0]).toMatch(/status 418 is not declared for listPipes/);
  });

  it('refuses a body that breaks the schema: wrong id pattern, missing and undeclared properties', () => {
    const wrongId = contract.problemsOf(json('GET', '/v1/databases', 200, { items: [{ ...dbSummary, id: `pipe_${ulid}` }], nextCursor: null }));
    expect(wrongId.join()).toMatch(/pattern/);
    const { version: _version, ...missing } = dbSummary;
    expect(contract.problemsOf(json('GET', '/v1/databases', 200, { items: [missing], nextCursor: null })).join()).toMatch(/version/);
    expect(contract.problemsOf(json('GET', '/v1/databases', 200, { items: [{ ...dbSummary, secret: 1 }], nextCursor: null })).join()).toMatch(
      /unevaluated.*secret/,
    );
  });

  it('refuses a content type the response does not declare, and a body where none is declared', () => {
    expect(contract.problemsOf(json('GET', '/v1/databases', 200, { items: [], nextCursor: null }, 'text/plain'))[0]).toMatch(/declares application\/json/);
    expect(contract.problemsOf(json('DELETE', `/v1/cards/card_${ulid}`, 204, { gone: true }))[0]).toMatch(/declares no body/);
    expect(contract.problemsOf(json('GET', '/v1/databases', 401, { message: 'Unauthorized' }))[0]).toMatch(/application\/problem\+json/);
  });

  it('expects 404 and 405 problems for what is not an operation', () => {
    expect(contract.problemsOf(json('GET', '/v1/nothing', 404, { ...problem, status: 404 }, 'application/problem+json'))).toEqual([]);
    expect(contract.problemsOf(json('PUT', '/v1/pipes', 405, { ...problem, status: 405 }, 'application/problem+json'))).toEqual([]);
    expect(contract.problemsOf(json('PUT', '/v1/pipes', 200, {}))[0]).toMatch(/must be 405/);
  });

  it('catches a lie in the document itself: the old DatabaseSummary (allOf with the pipe id pattern) refuses every database', () => {
    const lying = structuredClone(doc);
    lying.components.schemas.DatabaseSummary = {
      allOf: [{ $ref: '#/components/schemas/PipeSummary' }, { type: 'object', properties: { id: { type: 'string', pattern: '^db_' } }, required: ['id'] }],
    };
    const response = json('GET', '/v1/databases', 200, { items: [dbSummary], nextCursor: null });
    expect(new Contract(lying).problemsOf(response).join()).toMatch(/pattern/);
    expect(() => new Contract(lying).check(response)).toThrow(ContractViolation);
    expect(() => contract.check(response)).not.toThrow();
  });

  it('checks one connect-or-create answer against both shapes it may take', () => {
    const summary = { id: `card_${ulid}`, type: 'card', containerId: `pipe_${ulid}`, title: 'T', phaseId: `ph_${ulid}`, finished: false, version: 1 };
    const connected = { connectionId: `conn_${ulid}`, ...summary, connectedAt: now };
    expect(contract.problemsOf(json('POST', `/v1/cards/card_${ulid}/children`, 201, connected))).toEqual([]);
    expect(contract.problemsOf(json('POST', `/v1/cards/card_${ulid}/children`, 201, { ...connected, connectionId: undefined })).length).toBeGreaterThan(0);
  });
});

describe('the statuses each operation declares', () => {
  it('follow the manifest: If-Match routes 412, body routes 413 and 415, authorized routes 401, 403 and 429', () => {
    for (const route of routeList) {
      const declared = Object.keys(doc.paths[route.path][route.method.toLowerCase()].responses).map(Number);
      expect(declared, route.id).toEqual(expect.arrayContaining(problemStatuses(route)));
      expect(declared.includes(412), route.id).toBe(route.ifMatch === true || (route.answers ?? []).includes(412));
      expect(declared.includes(413) && declared.includes(415), route.id).toBe(route.request?.body !== undefined);
      if (route.role !== null) expect(declared, route.id).toEqual(expect.arrayContaining([400, 401, 403, 429]));
    }
  });

  it('every change of a card or record, its edges included, honours If-Match', () => {
    const changes = routeList.filter((r) => r.method !== 'GET' && /^\/v1\/(cards|records)\/\{/.test(r.path));
    expect(changes.map((r) => r.id)).toEqual(expect.arrayContaining(['addCardChild', 'removeCardChild', 'addRecordChild', 'removeRecordChild']));
    for (const route of changes) expect(route.ifMatch, route.id).toBe(true);
  });
});
