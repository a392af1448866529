import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, client, newOrg } from '../support/api';
import { fieldIds, recruitingPipe } from '../support/fixtures';
import { snapshotOrg } from '../support/table';

/** Every case here must answer 4xx problem+json that names what is wrong, and write nothing. */
describe('bad input', () => {
  const orgId = newOrg('bad');
  const admin = client(orgId, 'admin');
  let pipe: any;
  let f: Record<string, string>;
  let cardId: string;

  beforeAll(async () => {
    pipe = (await admin('createPipe', { body: recruitingPipe })).body;
    f = fieldIds(pipe);
    cardId = (await admin('createCard', { params: { pipeId: pipe.id }, body: { values: { [f['Candidate name']!]: 'Ada', [f['Email']!]: 'ada@example.com' } } }))
      .body.id;
  });

  const cases: Array<[string, () => Promise<any>, number, string]> = [
    ['unknown property', () => admin('createPipe', { body: { name: 'X', colour: 'red' } }), 400, 'body.colour'],
    ['wrong type', () => admin('createPipe', { body: { name: 42 } }), 400, 'body.name'],
    ['empty name', () => admin('createPipe', { body: { name: '   ' } }), 400, 'body.name'],
    [
      'select field without options',
      () => admin('createPipe', { body: { name: 'X', startFormFields: [{ label: 'S', type: 'single_select' }] } }),
      400,
      'body.startFormFields.0.options',
    ],
    [
      'unknown field type',
      () => admin('createPipe', { body: { name: 'X', startFormFields: [{ label: 'S', type: 'hologram' }] } }),
      400,
      'body.startFormFields.0.type',
    ],
    ['malformed JSON', () => admin('createPipe', { rawBody: '{"name": ' }), 400, 'body'],
    ['malformed id in path', () => admin('getCard', { params: { cardId: 'card_nope' } }), 400, 'params.cardId'],
    ['id of another kind', () => admin('getCard', { params: { cardId: 'rec_01JD0000000000000000000000' } }), 400, 'params.cardId'],
    ['limit out of range', () => admin('listPipes', { query: { limit: '1000' } }), 400, 'query.limit'],
    ['unknown query parameter', () => admin('listPipes', { query: { page: '2' } }), 400, 'query.page'],
    [
      'prototype pollution key in values',
      () => admin('updateCard', { params: { cardId: 'card_01JD0000000000000000000000' }, rawBody: '{"values":{"__proto__":{"x":1}}}' }),
      400,
      'body',
    ],
  ];

  for (const [name, send, status, path] of cases) {
    it(`${name} → ${status} naming ${path}`, async () => {
      const before = await snapshotOrg(orgId);
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^urn:cardflow:problem:/), detail: expect.any(String) });
      expect(res.body.errors.map((e: any) => e.path)).toContainEqual(expect.stringContaining(path));
      expect(await snapshotOrg(orgId)).toEqual(before);
    });
  }

  it('values of the wrong type or outside the options → 422 naming every field', async () => {
    const before = await snapshotOrg(orgId);
    const res = await admin('updateCard', {
      params: { cardId },
      body: { values: { [f['Email']!]: 'not-an-email', [f['Role']!]: 'Astronaut', [f['Start date']!]: '2027-02-30', [f['Skills']!]: 'AWS' } },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: any) => e.code).sort()).toEqual(['field.invalidValue', 'field.invalidValue', 'field.notAnOption', 'field.wrongType']);
    expect(res.body.errors.map((e: any) => e.path).sort()).toEqual([f['Email'], f['Role'], f['Skills'], f['Start date']].map((id) => `values.${id}`).sort());
    expect(await snapshotOrg(orgId)).toEqual(before);
  });

  it("one pass reports every problem of a create: bad values and the start form's required fields together", async () => {
    const before = await snapshotOrg(orgId);
    const res = await admin('createCard', { params: { pipeId: pipe.id }, body: { values: { [f['Role']!]: 'Astronaut' } } });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: `values.${f['Role']}`, code: 'field.notAnOption' }),
        expect.objectContaining({ path: `values.${f['Candidate name']}`, code: 'startForm.requiredFieldMissing' }),
        expect.objectContaining({ path: `values.${f['Email']}`, code: 'startForm.requiredFieldMissing' }),
      ]),
    );
    expect(res.body.errors).toHaveLength(3);
    // A bad value of a required field is reported once, as the bad value.
    const bad = await admin('createCard', { params: { pipeId: pipe.id }, body: { values: { [f['Email']!]: 'not-an-email' } } });
    expect(bad.body.errors.map((e: any) => [e.path, e.code]).sort()).toEqual(
      [
        [`values.${f['Candidate name']}`, 'startForm.requiredFieldMissing'],
        [`values.${f['Email']}`, 'field.invalidValue'],
      ].sort(),
    );
    // {} alone: the start form, every required field named.
    const empty = await admin('createCard', { params: { pipeId: pipe.id }, body: {} });
    expect(empty.body).toMatchObject({ code: 'card.startFormIncomplete' });
    expect(empty.body.errors.map((e: any) => e.path).sort()).toEqual([`values.${f['Candidate name']}`, `values.${f['Email']}`].sort());
    expect(await snapshotOrg(orgId)).toEqual(before);
  });

  it('a value for a field of another pipe → 422 naming it', async () => {
    const other = (await admin('createPipe', { body: { name: 'Other', startFormFields: [{ label: 'Foreign', type: 'short_text' }] } })).body;
    const foreignField = other.startForm.fields[0].id;
    const res = await admin('updateCard', { params: { cardId }, body: { values: { [foreignField]: 'x' } } });
    expect(res.status).toBe(422);
    expect(res.body.errors[0]).toMatchObject({ path: `values.${foreignField}`, code: 'field.unknown' });
  });

  it('a body over the size limit → 413', async () => {
    const before = await snapshotOrg(orgId);
    const res = await admin('createPipe', { body: { name: 'Big', description: 'x'.repeat(300 * 1024) } });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(await snapshotOrg(orgId)).toEqual(before);
  });

  it('a forged cursor → 400, never 500: unkeyed digest, a start key without PK/SK, SK #META on /children', async () => {
    const connectionId = 'conn_01JD0000000000000000000000';
    const pk = `ORG#${orgId}#CARD#${cardId}`;
    const scope = `children:${orgId}:${cardId}:${connectionId}`;
    // The scheme before cursors were signed: anyone knowing the scope could compute the tag.
    const forge = (state: unknown) => {
      const payload = Buffer.from(JSON.stringify(state)).toString('base64url');
      return `${payload}.${createHash('sha256').update(scope).update('\0').update(payload).digest('base64url').slice(0, 22)}`;
    };
    for (const key of [{ PK: pk, SK: '#META' }, { PK: pk }, {}]) {
      const res = await admin('listCardChildren', { params: { cardId }, query: { connectionId, cursor: forge({ key }) } });
      expect(res.status, JSON.stringify(key)).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ path: 'query.cursor', code: 'request.invalidCursor' });
    }
  });

  it('a non-JSON content type → 415', async () => {
    const res = await admin('createPipe', { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ title: 'Unsupported Media Type', code: 'request.unsupportedMediaType' });
  });

  it('no claims → 401; a viewer writing → 403 naming the role it needs', async () => {
    const anonymous = await call('listPipes', { as: null });
    expect(anonymous.status).toBe(401);
    const viewer = client(orgId, 'viewer');
    const before = await snapshotOrg(orgId);
    const res = await viewer('createCard', { params: { pipeId: pipe.id }, body: { title: 'x' } });
    expect(res.status).toBe(403);
    expect(res.body.requiredRole).toBe('member');
    const member = client(orgId, 'member');
    expect((await member('createPipe', { body: { name: 'x' } })).body.requiredRole).toBe('admin');
    expect(await snapshotOrg(orgId)).toEqual(before);
    expect((await viewer('getCard', { params: { cardId } })).status).toBe(200);
  });

  it('another organization sees 404 for every id of this one, and changes nothing', async () => {
    const intruder = client(newOrg('intruder'), 'admin');
    const before = await snapshotOrg(orgId);
    expect((await intruder('getPipe', { params: { pipeId: pipe.id } })).status).toBe(404);
    expect((await intruder('getCard', { params: { cardId } })).status).toBe(404);
    expect((await intruder('updateCard', { params: { cardId }, body: { title: 'pwned' } })).status).toBe(404);
    expect((await intruder('moveCard', { params: { cardId }, body: { phaseId: pipe.phases[1].id } })).status).toBe(404);
    expect((await intruder('deleteCard', { params: { cardId } })).status).toBe(404);
    expect((await intruder('createCard', { params: { pipeId: pipe.id }, body: { title: 'x' } })).status).toBe(404);
    expect((await intruder('deletePipe', { params: { pipeId: pipe.id } })).status).toBe(404);
    expect(await snapshotOrg(orgId)).toEqual(before);
  });

  it('an unknown resource → 404 problem+json naming it', async () => {
    const res = await admin('getPipe', { params: { pipeId: 'pipe_01JD0000000000000000000000' } });
    expect(res.status).toBe(404);
    expect(res.body.detail).toContain('pipe_01JD0000000000000000000000');
  });

  it('a malformed If-Match → 400', async () => {
    const res = await admin('updateCard', { params: { cardId }, headers: { 'If-Match': 'yesterday' }, body: { title: 'x' } });
    expect(res.status).toBe(400);
  });
});

describe('items near DynamoDB’s 400 KB limit', () => {
  it('refuses values that would make a card too large with a 422, before DynamoDB would, and writes nothing', async () => {
    const orgId = newOrg('big');
    const admin = client(orgId, 'admin');
    const pipe = (
      await admin('createPipe', { body: { name: 'Big', startFormFields: Array.from({ length: 20 }, (_, i) => ({ label: `Notes ${i}`, type: 'long_text' })) } })
    ).body;
    const ids: string[] = pipe.startForm.fields.map((f: any) => f.id);
    const values = (from: number, to: number, size: number) => Object.fromEntries(ids.slice(from, to).map((id) => [id, 'x'.repeat(size)]));
    const card = await admin('createCard', { params: { pipeId: pipe.id }, body: { title: 'grows', values: values(0, 10, 15_000) } });
    expect(card.status).toBe(201);
    // Each request is under the 256 KB body limit; together they would pass 400 KB.
    const more = await admin('updateCard', { params: { cardId: card.body.id }, body: { values: values(10, 20, 15_000) } });
    expect(more.status).toBe(200);
    const before = await snapshotOrg(orgId);
    const tooMuch = await admin('updateCard', { params: { cardId: card.body.id }, body: { values: values(0, 12, 20_000) } });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.code).toBe('item.tooLarge');
    expect(await snapshotOrg(orgId)).toEqual(before);
  });
});
