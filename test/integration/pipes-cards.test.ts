import { beforeAll, describe, expect, it } from 'vitest';
import { client, newOrg } from '../support/api';
import { fieldIds, recruitingPipe } from '../support/fixtures';
import { snapshotOrg } from '../support/table';

describe('pipes and cards against DynamoDB Local', () => {
  const orgId = newOrg('pipes');
  const api = client(orgId, 'admin');
  let pipe: any;
  let f: Record<string, string>;

  beforeAll(async () => {
    const created = await api('createPipe', { body: recruitingPipe });
    expect(created.status).toBe(201);
    pipe = created.body;
    f = fieldIds(pipe);
  });

  it('creates a pipe with phases in order, start form and phase fields, and an ETag', async () => {
    const got = await api('getPipe', { params: { pipeId: pipe.id } });
    expect(got.status).toBe(200);
    expect(got.headers['etag']).toBe('"1"');
    expect(got.body.phases.map((p: any) => p.name)).toEqual(['Applied', 'Interview', 'Offer', 'Hired']);
    expect(got.body.phases[3].done).toBe(true);
    expect(got.body.startForm.fields.map((x: any) => x.label)).toEqual(recruitingPipe.startFormFields.map((x) => x.label));
    expect(got.body.phases[1].fields[0]).toMatchObject({ label: 'Interview score', type: 'number', required: true });
    expect(got.body.titleFieldId).toBe(f['Candidate name']);
  });

  it('lists pipes of the organization only', async () => {
    const other = client(newOrg('other'), 'admin');
    await other('createPipe', { body: { name: 'Not yours' } });
    const list = await api('listPipes');
    expect(list.status).toBe(200);
    expect(list.body.items.map((p: any) => p.name)).toEqual(['Recruiting']);
  });

  it('creates a card in the start phase with normalized values and a title from the title field', async () => {
    const res = await api('createCard', {
      params: { pipeId: pipe.id },
      body: { values: { [f['Candidate name']!]: 'Ada Lovelace', [f['Email']!]: ' ada@example.com ', [f['Role']!]: 'Engineer' } },
    });
    expect(res.status).toBe(201);
    expect(res.headers['location']).toBe(`/v1/cards/${res.body.id}`);
    expect(res.body).toMatchObject({
      pipeId: pipe.id,
      phaseId: pipe.phases[0].id,
      title: 'Ada Lovelace',
      finished: false,
      version: 1,
      createdBy: 'user-admin',
    });
    expect(res.body.values[f['Email']!]).toBe('ada@example.com');
    expect(res.body.phaseHistory).toEqual([{ phaseId: pipe.phases[0].id, enteredAt: res.body.createdAt }]);
  });

  it('refuses a card whose required start-form fields are empty, naming them, and writes nothing', async () => {
    const before = await snapshotOrg(orgId);
    const res = await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [f['Role']!]: 'Designer' } } });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body.errors.map((e: any) => e.path).sort()).toEqual([`values.${f['Candidate name']}`, `values.${f['Email']}`].sort());
    expect(await snapshotOrg(orgId)).toEqual(before);
  });

  it('merges value updates, clears with null, retitles, and bumps the version', async () => {
    const card = (
      await api('createCard', {
        params: { pipeId: pipe.id },
        body: { values: { [f['Candidate name']!]: 'Grace', [f['Email']!]: 'grace@example.com', [f['Skills']!]: ['AWS'] } },
      })
    ).body;
    const res = await api('updateCard', {
      params: { cardId: card.id },
      body: { values: { [f['Candidate name']!]: 'Grace Hopper', [f['Skills']!]: null, [f['Start date']!]: '2027-01-04' } },
    });
    expect(res.status).toBe(200);
    expect(res.headers['etag']).toBe('"2"');
    expect(res.body.title).toBe('Grace Hopper');
    expect(res.body.values).toEqual({ [f['Candidate name']!]: 'Grace Hopper', [f['Email']!]: 'grace@example.com', [f['Start date']!]: '2027-01-04' });
  });

  it('keeps both of two concurrent updates of different fields', async () => {
    const card = (
      await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [f['Candidate name']!]: 'Linus', [f['Email']!]: 'l@example.com' } } })
    ).body;
    await Promise.all([
      api('updateCard', { params: { cardId: card.id }, body: { values: { [f['Role']!]: 'Sales' } } }),
      api('updateCard', { params: { cardId: card.id }, body: { values: { [f['Start date']!]: '2027-02-01' } } }),
    ]);
    const got = await api('getCard', { params: { cardId: card.id } });
    expect(got.body.values[f['Role']!]).toBe('Sales');
    expect(got.body.values[f['Start date']!]).toBe('2027-02-01');
    expect(got.body.version).toBe(3);
  });

  it('honours If-Match: a stale version gets 412 and changes nothing', async () => {
    const card = (
      await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [f['Candidate name']!]: 'Edsger', [f['Email']!]: 'e@example.com' } } })
    ).body;
    const ok = await api('updateCard', { params: { cardId: card.id }, headers: { 'If-Match': '"1"' }, body: { values: { [f['Role']!]: 'Engineer' } } });
    expect(ok.status).toBe(200);
    const stale = await api('updateCard', { params: { cardId: card.id }, headers: { 'If-Match': '"1"' }, body: { values: { [f['Role']!]: 'Sales' } } });
    expect(stale.status).toBe(412);
    expect(stale.body.currentVersion).toBe(2);
    expect((await api('getCard', { params: { cardId: card.id } })).body.values[f['Role']!]).toBe('Engineer');
  });

  it('blocks leaving a phase with an empty required field, then moves, records history and finishes in a done phase', async () => {
    const card = (
      await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [f['Candidate name']!]: 'Barbara', [f['Email']!]: 'b@example.com' } } })
    ).body;
    const [applied, interview, , hired] = pipe.phases;
    expect((await api('moveCard', { params: { cardId: card.id }, body: { phaseId: interview.id } })).status).toBe(200);

    const blocked = await api('moveCard', { params: { cardId: card.id }, body: { phaseId: hired.id } });
    expect(blocked.status).toBe(422);
    expect(blocked.body.code).toBe('card.requiredFieldsMissing');
    expect(blocked.body.errors).toEqual([
      { path: `values.${f['Interview score']}`, message: 'Interview score is required', code: 'phase.requiredFieldMissing' },
    ]);

    await api('updateCard', { params: { cardId: card.id }, body: { values: { [f['Interview score']!]: 9 } } });
    const done = await api('moveCard', { params: { cardId: card.id }, body: { phaseId: hired.id } });
    expect(done.status).toBe(200);
    expect(done.body.finished).toBe(true);
    expect(done.body.finishedAt).toBeDefined();
    expect(done.body.phaseHistory.map((v: any) => v.phaseId)).toEqual([applied.id, interview.id, hired.id]);
    expect(done.body.phaseHistory[0].leftAt).toBeDefined();
    expect(done.body.phaseHistory[2].leftAt).toBeUndefined();

    const back = await api('moveCard', { params: { cardId: card.id }, body: { phaseId: applied.id } });
    expect(back.body.finished).toBe(false);
    expect(back.body.finishedAt).toBeUndefined();
  });

  it('refuses a move to a phase of another pipe with a 422 that names it', async () => {
    const otherPipe = (await api('createPipe', { body: { name: 'Other' } })).body;
    const card = (
      await api('createCard', { params: { pipeId: pipe.id }, body: { values: { [f['Candidate name']!]: 'Alan', [f['Email']!]: 'a@example.com' } } })
    ).body;
    const res = await api('moveCard', { params: { cardId: card.id }, body: { phaseId: otherPipe.phases[0].id } });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('body.phaseId');
    expect(res.body.errors[0].message).toContain(otherPipe.phases[0].id);
  });

  it('lists cards by pipe and by phase with cursor pagination that loses and repeats nothing', async () => {
    const p = (await api('createPipe', { body: { name: 'Paging', phases: [{ name: 'A' }, { name: 'B' }] } })).body;
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await api('createCard', { params: { pipeId: p.id }, body: { title: `Card ${i}` } })).body.id);
    for (const id of created.slice(0, 3)) await api('moveCard', { params: { cardId: id }, body: { phaseId: p.phases[1].id } });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await api('listCards', { params: { pipeId: p.id }, query: { limit: '2', ...(cursor ? { cursor } : {}) } });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((c: any) => c.id));
      cursor = page.body.nextCursor ?? undefined;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual([...created.slice(3), ...created.slice(0, 3)]);

    const phaseB = await api('listCards', { params: { pipeId: p.id }, query: { phaseId: p.phases[1].id } });
    expect(phaseB.body.items.map((c: any) => c.id)).toEqual(created.slice(0, 3));
    expect(phaseB.body.nextCursor).toBeNull();
  });

  it('refuses an altered cursor and a cursor of another query with 400', async () => {
    const p = (await api('createPipe', { body: { name: 'Cursors' } })).body;
    for (let i = 0; i < 3; i++) await api('createCard', { params: { pipeId: p.id }, body: { title: `C${i}` } });
    const first = await api('listCards', { params: { pipeId: p.id }, query: { limit: '1' } });
    const cursor: string = first.body.nextCursor;
    const altered = cursor.slice(0, 5) + (cursor[5] === 'A' ? 'B' : 'A') + cursor.slice(6);
    expect((await api('listCards', { params: { pipeId: p.id }, query: { cursor: altered } })).status).toBe(400);
    expect((await api('listCards', { params: { pipeId: pipe.id }, query: { cursor } })).status).toBe(400);
    const foreign = client(newOrg('foreign'), 'admin');
    expect((await foreign('listCards', { params: { pipeId: p.id }, query: { cursor } })).status).toBe(404);
  });

  it('renames, reorders phases, adds and deletes phases and fields, versioning the definition', async () => {
    const p = (await api('createPipe', { body: { name: 'Shape', phases: [{ name: 'One' }, { name: 'Two' }] } })).body;
    const [one, two] = p.phases;
    const renamed = await api('updatePipe', {
      params: { pipeId: p.id },
      headers: { 'If-Match': '"1"' },
      body: { name: 'Shaped', phaseOrder: [two.id, one.id] },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Shaped');
    expect(renamed.body.phases.map((x: any) => x.id)).toEqual([two.id, one.id]);
    expect(renamed.headers['etag']).toBe('"2"');

    const bad = await api('updatePipe', { params: { pipeId: p.id }, body: { phaseOrder: [one.id] } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].message).toContain(two.id);

    const added = await api('createPhase', { params: { pipeId: p.id }, body: { name: 'Zero', position: 0 } });
    expect(added.body.phases.map((x: any) => x.name)).toEqual(['Zero', 'Two', 'One']);
    const field = await api('createPipeField', {
      params: { pipeId: p.id },
      body: { label: 'Priority', type: 'single_select', options: ['Low', 'High'], phaseId: one.id, required: true },
    });
    expect(field.status).toBe(201);
    const changed = await api('updatePipeField', {
      params: { pipeId: p.id, fieldId: field.body.id },
      body: { options: ['Low', 'Medium', 'High'], label: 'Urgency' },
    });
    expect(changed.body).toMatchObject({ label: 'Urgency', options: ['Low', 'Medium', 'High'], type: 'single_select' });
    const renamedPhase = await api('updatePhase', { params: { pipeId: p.id, phaseId: one.id }, body: { name: 'Uno', done: true } });
    expect(renamedPhase.body.phases[2]).toMatchObject({ name: 'Uno', done: true });

    expect((await api('deletePhase', { params: { pipeId: p.id, phaseId: one.id } })).status).toBe(204);
    const after = (await api('getPipe', { params: { pipeId: p.id } })).body;
    expect(after.phases.map((x: any) => x.name)).toEqual(['Zero', 'Two']);
    expect(after.phases.flatMap((x: any) => x.fields)).toEqual([]);
    expect((await api('deletePipeField', { params: { pipeId: p.id, fieldId: field.body.id } })).status).toBe(404);
  });

  it('refuses to delete a pipe with cards (409 with the count), deletes an empty one completely', async () => {
    const p = (await api('createPipe', { body: { name: 'Busy' } })).body;
    const card = (await api('createCard', { params: { pipeId: p.id }, body: { title: 'x' } })).body;
    await api('createCard', { params: { pipeId: p.id }, body: { title: 'y' } });
    const refused = await api('deletePipe', { params: { pipeId: p.id } });
    expect(refused.status).toBe(409);
    expect(refused.body.cardCount).toBe(2);
    expect(refused.body.detail).toContain('2 cards');
    // The pipe is fully usable after a refused delete.
    expect((await api('createCard', { params: { pipeId: p.id }, body: { title: 'z' } })).status).toBe(201);

    const empty = (await api('createPipe', { body: { name: 'Empty' } })).body;
    expect((await api('deletePipe', { params: { pipeId: empty.id } })).status).toBe(204);
    expect((await api('getPipe', { params: { pipeId: empty.id } })).status).toBe(404);
    const left = (await snapshotOrg(orgId)).filter((i) => String(i['PK']).includes(empty.id));
    expect(left).toEqual([]);
    expect((await api('deleteCard', { params: { cardId: card.id } })).status).toBe(204);
    expect((await api('getCard', { params: { cardId: card.id } })).status).toBe(404);
  });
});
