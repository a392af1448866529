/**
 * The four connection scenarios of the product, end to end over real HTTP against the local
 * runtime (DynamoDB Local, the JWT-checking gateway, the unchanged handlers, the stream
 * poller). The runtime starts without the demo seed; each scenario builds its own pipes and
 * databases in a fresh organization, as a client would. The last test runs the demo seed twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRuntime, type LocalRuntime } from '../../infra/local/runtime';
import { DEMO_AUTOMATIONS, DEMO_CONNECTIONS, DEMO_DATABASES, DEMO_ORG, DEMO_PIPES, seedDemo } from '../../infra/local/seed';
import { enforceContract } from '../support/contract';

let dir: string;
let runtime: LocalRuntime;
let contract: Awaited<ReturnType<typeof enforceContract>> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-scenarios-'));
  runtime = await startLocalRuntime({ port: 0, seed: false, quiet: true, keyFile: join(dir, 'key.json') });
  // Every response is checked against the served OpenAPI document: a lie fails the test.
  contract = await enforceContract(runtime.url);
});

afterAll(async () => {
  contract?.restore();
  await runtime?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

type Client = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>;

/** An HTTP client for a fresh organization, with a token of the given role from the dev issuer. */
async function clientFor(org: string, role: 'viewer' | 'member' | 'admin' = 'admin'): Promise<Client> {
  const token = await runtime.issuer.mintToken({ orgId: org, role, sub: `e2e-${role}` });
  return async (method, path, body, headers = {}) => {
    const response = await fetch(`${runtime.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
}

const freshOrg = (name: string) => `e2e-${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Asserts the status (showing the body when it differs) and returns the body. */
function expectStatus(reply: Reply, status: number): any {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  return reply.body;
}

function expectProblem(reply: Reply, status: number): any {
  expectStatus(reply, status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), code: expect.any(String) });
  return reply.body;
}

function byLabel(fields: Array<{ id: string; label: string }>): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f.label, f.id]));
}

/** Every field of a pipe (start form and phases), by label. */
function pipeFields(pipe: any): Record<string, string> {
  return byLabel([...pipe.startForm.fields, ...pipe.phases.flatMap((p: any) => p.fields)]);
}

function phase(pipe: any, name: string): string {
  const found = pipe.phases.find((p: any) => p.name === name);
  if (!found) throw new Error(`pipe ${pipe.name} has no phase ${name}`);
  return found.id;
}

/** Waits for what the stream processors do after the request has answered. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('HR: Recruiting is the parent of Employee onboarding', () => {
  it('a hired candidate creates its onboarding card with the data carried over, once, and cannot finish without it', async () => {
    const api = await clientFor(freshOrg('hr'));
    const recruiting = expectStatus(
      await api('POST', '/v1/pipes', {
        name: 'Recruiting',
        startFormFields: [
          { label: 'Candidate name', type: 'short_text', required: true, isTitle: true },
          { label: 'Email', type: 'email', required: true },
          { label: 'Role', type: 'single_select', options: ['Backend engineer', 'Product designer'] },
          { label: 'Start date', type: 'date' },
        ],
        phases: [{ name: 'Applied' }, { name: 'Offer' }, { name: 'Hired', done: true }, { name: 'Rejected', done: true }],
      }),
      201,
    );
    const onboarding = expectStatus(
      await api('POST', '/v1/pipes', {
        name: 'Employee onboarding',
        startFormFields: [
          { label: 'Employee name', type: 'short_text', required: true, isTitle: true },
          { label: 'Email', type: 'email', required: true },
          { label: 'Role', type: 'single_select', options: ['Backend engineer', 'Product designer', 'Sales'] },
          { label: 'Start date', type: 'date' },
          { label: 'Department', type: 'short_text' },
        ],
        phases: [{ name: 'Paperwork' }, { name: 'First week' }, { name: 'Completed', done: true }],
      }),
      201,
    );
    const r = pipeFields(recruiting);
    const o = pipeFields(onboarding);

    // An incompatible pair is refused, naming it.
    const incompatible = expectProblem(
      await api('POST', '/v1/connections', {
        name: 'Broken',
        parent: { type: 'pipe', id: recruiting.id },
        child: { type: 'pipe', id: onboarding.id },
        entries: 'single',
        fieldMap: [{ childFieldId: o['Start date'], parentFieldId: r['Role'] }],
      }),
      422,
    );
    expect(incompatible.errors[0].message).toContain('Role → Start date');

    const connection = expectStatus(
      await api('POST', '/v1/connections', {
        name: 'Onboarding',
        parent: { type: 'pipe', id: recruiting.id },
        child: { type: 'pipe', id: onboarding.id },
        entries: 'single',
        canConnectExisting: false,
        fieldMap: [
          { childFieldId: o['Employee name'], parentFieldId: r['Candidate name'] },
          { childFieldId: o['Email'], parentFieldId: r['Email'], sync: true },
          { childFieldId: o['Role'], parentFieldId: r['Role'] },
          { childFieldId: o['Start date'], parentFieldId: r['Start date'] },
          { childFieldId: o['Department'], value: 'People' },
        ],
        rules: { childRequiredToFinish: true },
      }),
      201,
    );
    expect(connection).toMatchObject({ entries: 'single', canCreate: true, canConnectExisting: false, rules: { childRequiredToFinish: true } });
    // Both pipes show it in their definitions.
    expect(expectStatus(await api('GET', `/v1/pipes/${recruiting.id}`), 200).connections.asParent.map((c: any) => c.id)).toEqual([connection.id]);
    expect(expectStatus(await api('GET', `/v1/pipes/${onboarding.id}`), 200).connections.asChild.map((c: any) => c.id)).toEqual([connection.id]);

    const candidate = expectStatus(
      await api('POST', `/v1/pipes/${recruiting.id}/cards`, {
        values: {
          [r['Candidate name']!]: 'Ada Lovelace',
          [r['Email']!]: 'ada@example.com',
          [r['Role']!]: 'Backend engineer',
          [r['Start date']!]: '2027-02-01',
        },
      }),
      201,
    );
    expectStatus(await api('POST', `/v1/cards/${candidate.id}/move`, { phaseId: phase(recruiting, 'Offer') }), 200);

    // Hired is a done phase: finishing needs the onboarding card first.
    const blocked = expectProblem(await api('POST', `/v1/cards/${candidate.id}/move`, { phaseId: phase(recruiting, 'Hired') }), 422);
    expect(blocked.code).toBe('card.connectionRulesUnmet');
    expect(blocked.errors).toEqual([expect.objectContaining({ path: `connections.${connection.id}`, code: 'connection.childRequired' })]);
    expect(blocked.errors[0].message).toContain('Onboarding');
    expect(blocked.detail).toContain('Hired');
    // Nothing moved.
    expect(expectStatus(await api('GET', `/v1/cards/${candidate.id}`), 200)).toMatchObject({ phaseId: phase(recruiting, 'Offer'), finished: false });

    // Create only: an existing onboarding card cannot be connected.
    const stray = expectStatus(
      await api('POST', `/v1/pipes/${onboarding.id}/cards`, { values: { [o['Employee name']!]: 'Someone', [o['Email']!]: 'someone@example.com' } }),
      201,
    );
    expect(expectProblem(await api('POST', `/v1/cards/${candidate.id}/children`, { connectionId: connection.id, childId: stray.id }), 422).errors[0].code).toBe(
      'connection.connectExistingDisabled',
    );

    const created = await api('POST', `/v1/cards/${candidate.id}/children`, { connectionId: connection.id, create: {} });
    const child = expectStatus(created, 201);
    expect(child).toMatchObject({ pipeId: onboarding.id, phaseId: phase(onboarding, 'Paperwork'), title: 'Ada Lovelace', finished: false });
    expect(child.values).toEqual({
      [o['Employee name']!]: 'Ada Lovelace',
      [o['Email']!]: 'ada@example.com',
      [o['Role']!]: 'Backend engineer',
      [o['Start date']!]: '2027-02-01',
      [o['Department']!]: 'People',
    });

    // Single entry: a second onboarding card is refused.
    const second = expectProblem(await api('POST', `/v1/cards/${candidate.id}/children`, { connectionId: connection.id, create: {} }), 409);
    expect(second.code).toBe('connection.limitReached');

    // The header, both ways.
    const header = expectStatus(await api('GET', `/v1/cards/${candidate.id}`), 200);
    expect(header.children).toEqual([
      {
        connectionId: connection.id,
        count: 1,
        hasMore: false,
        items: [expect.objectContaining({ id: child.id, type: 'card', containerId: onboarding.id, title: 'Ada Lovelace', finished: false })],
      },
    ]);
    expect(header.parents).toEqual([]);
    const childHeader = expectStatus(await api('GET', `/v1/cards/${child.id}`), 200);
    expect(childHeader.parents).toEqual([{ connectionId: connection.id, items: [expect.objectContaining({ id: candidate.id, title: 'Ada Lovelace' })] }]);

    // The synced email is read-only on the child; other fields stay editable.
    const edit = expectProblem(await api('PATCH', `/v1/cards/${child.id}`, { values: { [o['Email']!]: 'other@example.com' } }), 409);
    expect(edit.parentId).toBe(candidate.id);
    expectStatus(await api('PATCH', `/v1/cards/${child.id}`, { values: { [o['Department']!]: 'Engineering' } }), 200);

    // Now the candidate can be hired; the child's header sees it once the stream has refreshed
    // the child's copy (the move itself writes only the parents' copies: a flat write path).
    const hired = expectStatus(await api('POST', `/v1/cards/${candidate.id}/move`, { phaseId: phase(recruiting, 'Hired') }), 200);
    expect(hired).toMatchObject({ phaseId: phase(recruiting, 'Hired'), finished: true, finishedAt: expect.any(String) });
    const seen = await eventually(
      async () => expectStatus(await api('GET', `/v1/cards/${child.id}`), 200),
      (card) => card.parents[0].items[0].finished === true,
    );
    expect(seen.parents[0].items[0]).toMatchObject({ finished: true, phaseId: phase(recruiting, 'Hired') });

    // A later change of the candidate's email reaches the onboarding card (stream propagation).
    expectStatus(await api('PATCH', `/v1/cards/${candidate.id}`, { values: { [r['Email']!]: 'ada.lovelace@example.com' } }), 200);
    const followed = await eventually(
      async () => expectStatus(await api('GET', `/v1/cards/${child.id}`), 200),
      (card) => card.values[o['Email']!] === 'ada.lovelace@example.com',
    );
    expect(followed.values[o['Email']!]).toBe('ada.lovelace@example.com');
    // Not synced: the department the child changed stays.
    expect(followed.values[o['Department']!]).toBe('Engineering');
  });
});

describe('Sales → customer success: a Sales CRM deal creates Customer onboarding cards', () => {
  it('the deal cannot finish until all of its onboarding cards are finished', async () => {
    const api = await clientFor(freshOrg('sales'));
    const crm = expectStatus(
      await api('POST', '/v1/pipes', {
        name: 'Sales CRM',
        startFormFields: [
          { label: 'Deal name', type: 'short_text', required: true, isTitle: true },
          { label: 'Customer', type: 'short_text', required: true },
          { label: 'Amount', type: 'currency' },
        ],
        phases: [{ name: 'Lead' }, { name: 'Negotiation' }, { name: 'Won', done: true }, { name: 'Lost', done: true }],
      }),
      201,
    );
    const onboarding = expectStatus(
      await api('POST', '/v1/pipes', {
        name: 'Customer onboarding',
        startFormFields: [
          { label: 'Workstream', type: 'short_text', required: true, isTitle: true },
          { label: 'Customer', type: 'short_text' },
          { label: 'Contract value', type: 'currency' },
        ],
        phases: [{ name: 'Kickoff' }, { name: 'Setup' }, { name: 'Live', done: true }],
      }),
      201,
    );
    const d = pipeFields(crm);
    const c = pipeFields(onboarding);
    const connection = expectStatus(
      await api('POST', '/v1/connections', {
        name: 'Customer onboarding',
        parent: { type: 'pipe', id: crm.id },
        child: { type: 'pipe', id: onboarding.id },
        entries: 'multiple',
        fieldMap: [
          { childFieldId: c['Customer'], parentFieldId: d['Customer'], sync: true },
          { childFieldId: c['Contract value'], parentFieldId: d['Amount'] },
        ],
        rules: { childrenFinishedToFinish: true },
      }),
      201,
    );

    const deal = expectStatus(
      await api('POST', `/v1/pipes/${crm.id}/cards`, {
        values: { [d['Deal name']!]: 'Globex annual plan', [d['Customer']!]: 'Globex Corporation', [d['Amount']!]: 48_000.5 },
      }),
      201,
    );
    expectStatus(await api('POST', `/v1/cards/${deal.id}/move`, { phaseId: phase(crm, 'Negotiation') }), 200);

    // No children yet: this rule asks only that the existing ones be finished.
    const workstreams = ['Data migration', 'Team training', 'SSO setup'];
    const children: any[] = [];
    for (const workstream of workstreams) {
      const child = expectStatus(
        await api('POST', `/v1/cards/${deal.id}/children`, { connectionId: connection.id, create: { values: { [c['Workstream']!]: workstream } } }),
        201,
      );
      expect(child).toMatchObject({ pipeId: onboarding.id, phaseId: phase(onboarding, 'Kickoff'), title: workstream });
      expect(child.values).toMatchObject({ [c['Customer']!]: 'Globex Corporation', [c['Contract value']!]: 48_000.5 });
      children.push(child);
    }
    const header = expectStatus(await api('GET', `/v1/cards/${deal.id}`), 200);
    expect(header.children).toHaveLength(1);
    expect(header.children[0]).toMatchObject({ connectionId: connection.id, count: 3, hasMore: false });
    expect(header.children[0].items.map((i: any) => i.title).sort()).toEqual([...workstreams].sort());

    // The deal cannot be won while onboarding cards are open; the answer lists them.
    const blocked = expectProblem(await api('POST', `/v1/cards/${deal.id}/move`, { phaseId: phase(crm, 'Won') }), 422);
    expect(blocked.code).toBe('card.connectionRulesUnmet');
    expect(blocked.errors).toEqual([expect.objectContaining({ path: `connections.${connection.id}`, code: 'connection.childrenUnfinished' })]);
    for (const child of children) expect(blocked.errors[0].message).toContain(child.id);
    expect(blocked.errors[0].message).toContain('3 children are not finished');

    // Moving to a phase that is not done is not finishing: allowed.
    expectStatus(await api('POST', `/v1/cards/${deal.id}/move`, { phaseId: phase(crm, 'Lead') }), 200);
    expectStatus(await api('POST', `/v1/cards/${deal.id}/move`, { phaseId: phase(crm, 'Negotiation') }), 200);

    // Finish two of three: still blocked, naming only the open one.
    for (const child of children.slice(0, 2)) {
      expectStatus(await api('POST', `/v1/cards/${child.id}/move`, { phaseId: phase(onboarding, 'Setup') }), 200);
      expect(expectStatus(await api('POST', `/v1/cards/${child.id}/move`, { phaseId: phase(onboarding, 'Live') }), 200).finished).toBe(true);
    }
    const stillBlocked = expectProblem(await api('POST', `/v1/cards/${deal.id}/move`, { phaseId: phase(crm, 'Won') }), 422);
    expect(stillBlocked.errors[0].message).toContain('1 child is not finished');
    expect(stillBlocked.errors[0].message).toContain(children[2].id);
    expect(stillBlocked.errors[0].message).not.toContain(children[0].id);

    expectStatus(await api('POST', `/v1/cards/${children[2].id}/move`, { phaseId: phase(onboarding, 'Live') }), 200);
    const won = expectStatus(await api('POST', `/v1/cards/${deal.id}/move`, { phaseId: phase(crm, 'Won') }), 200);
    expect(won).toMatchObject({ phaseId: phase(crm, 'Won'), finished: true });
    const after = expectStatus(await api('GET', `/v1/cards/${deal.id}`), 200);
    expect(after.children[0].items.every((i: any) => i.finished && i.phaseId === phase(onboarding, 'Live'))).toBe(true);

    // The children of one connection page with a cursor.
    const firstPage = expectStatus(await api('GET', `/v1/cards/${deal.id}/children?connectionId=${connection.id}&limit=2`), 200);
    expect(firstPage.items).toHaveLength(2);
    expect(firstPage.nextCursor).toEqual(expect.any(String));
    const secondPage = expectStatus(
      await api('GET', `/v1/cards/${deal.id}/children?connectionId=${connection.id}&limit=2&cursor=${encodeURIComponent(firstPage.nextCursor)}`),
      200,
    );
    expect(secondPage.items).toHaveLength(1);
    expect([...firstPage.items, ...secondPage.items].map((i: any) => i.id).sort()).toEqual(children.map((ch) => ch.id).sort());
  });
});

describe('Finance: Purchasing connects existing records of the Suppliers database', () => {
  it('finds suppliers by title prefix, and a required connection field blocks Approval until one is connected', async () => {
    const api = await clientFor(freshOrg('finance'));
    const outsider = await clientFor(freshOrg('finance-other'), 'admin');
    const suppliers = expectStatus(
      await api('POST', '/v1/databases', {
        name: 'Suppliers',
        fields: [
          { label: 'Name', type: 'short_text', required: true, isTitle: true },
          { label: 'Country', type: 'single_select', options: ['Germany', 'United States'] },
        ],
      }),
      201,
    );
    const s = byLabel(suppliers.fields);
    const records: Record<string, string> = {};
    for (const name of ['Acme Components', 'acme Logistics', 'Nordlicht GmbH']) {
      records[name] = expectStatus(await api('POST', `/v1/databases/${suppliers.id}/records`, { values: { [s['Name']!]: name } }), 201).id;
    }
    const purchasing = expectStatus(
      await api('POST', '/v1/pipes', {
        name: 'Purchasing',
        startFormFields: [
          { label: 'Item', type: 'short_text', required: true, isTitle: true },
          { label: 'Amount', type: 'currency' },
        ],
        phases: [{ name: 'Request' }, { name: 'Approval' }, { name: 'Ordered', done: true }],
      }),
      201,
    );
    const p = pipeFields(purchasing);
    const connection = expectStatus(
      await api('POST', '/v1/connections', {
        name: 'Supplier',
        parent: { type: 'pipe', id: purchasing.id },
        child: { type: 'database', id: suppliers.id },
        entries: 'single',
        canCreate: false,
        canConnectExisting: true,
      }),
      201,
    );
    const field = expectStatus(
      await api('POST', `/v1/pipes/${purchasing.id}/fields`, {
        label: 'Supplier',
        type: 'connection',
        connectionId: connection.id,
        phaseId: phase(purchasing, 'Approval'),
        required: true,
      }),
      201,
    );
    expect(field).toMatchObject({ type: 'connection', connectionId: connection.id, phaseId: phase(purchasing, 'Approval'), required: true });

    const purchase = expectStatus(
      await api('POST', `/v1/pipes/${purchasing.id}/cards`, { values: { [p['Item']!]: 'Ergonomic chairs', [p['Amount']!]: 4_188 } }),
      201,
    );
    expectStatus(await api('POST', `/v1/cards/${purchase.id}/move`, { phaseId: phase(purchasing, 'Approval') }), 200);

    // Candidates: case-insensitive title prefix, nothing connected yet.
    const search = expectStatus(await api('GET', `/v1/connections/${connection.id}/candidates?parentId=${purchase.id}&q=ACM`), 200);
    expect(search.items.map((i: any) => [i.title, i.connected, i.type])).toEqual([
      ['Acme Components', false, 'record'],
      ['acme Logistics', false, 'record'],
    ]);
    expect(
      expectStatus(await api('GET', `/v1/connections/${connection.id}/candidates?parentId=${purchase.id}&q=nord`), 200).items.map((i: any) => i.title),
    ).toEqual(['Nordlicht GmbH']);
    // Another organization finds nothing of this one.
    expectProblem(await outsider('GET', `/v1/connections/${connection.id}/candidates?parentId=${purchase.id}&q=a`), 404);

    // Connect only: creating a supplier from the purchase is refused.
    expect(
      expectProblem(
        await api('POST', `/v1/cards/${purchase.id}/children`, { connectionId: connection.id, create: { values: { [s['Name']!]: 'New supplier' } } }),
        422,
      ).errors[0].code,
    ).toBe('connection.createDisabled');

    // The required connection field keeps the purchase in Approval.
    const blocked = expectProblem(await api('POST', `/v1/cards/${purchase.id}/move`, { phaseId: phase(purchasing, 'Ordered') }), 422);
    expect(blocked.errors).toEqual([expect.objectContaining({ path: `values.${field.id}`, code: 'phase.requiredFieldMissing' })]);
    expect(blocked.errors[0].message).toContain('Supplier');
    expect(blocked.detail).toContain('Approval');

    // A record of another database is refused, naming it; nothing is written.
    const other = expectStatus(await api('POST', '/v1/databases', { name: 'Warehouses', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] }), 201);
    const warehouse = expectStatus(await api('POST', `/v1/databases/${other.id}/records`, { title: 'Main warehouse' }), 201);
    const wrong = expectProblem(await api('PATCH', `/v1/cards/${purchase.id}`, { values: { [field.id]: [warehouse.id] } }), 422);
    expect(JSON.stringify(wrong.errors)).toContain(warehouse.id);
    expect(expectStatus(await api('GET', `/v1/cards/${purchase.id}`), 200).children).toEqual([]);

    // Connect through the field, with the id the search found.
    const acme = search.items[0].id;
    expect(acme).toBe(records['Acme Components']);
    expect(expectStatus(await api('PATCH', `/v1/cards/${purchase.id}`, { values: { [field.id]: [acme] } }), 200).values[field.id]).toEqual([acme]);
    // The field's value is the connected ids on list pages too (checked against the served contract).
    for (const query of ['', `?phaseId=${phase(purchasing, 'Approval')}`, '?sort=-updatedAt', '?filter[title][prefix]=ergo']) {
      const page = expectStatus(await api('GET', `/v1/pipes/${purchasing.id}/cards${query}`), 200);
      expect(page.items.find((c: any) => c.id === purchase.id).values[field.id], query).toEqual([acme]);
    }
    const header = expectStatus(await api('GET', `/v1/cards/${purchase.id}`), 200);
    expect(header.children).toEqual([
      { connectionId: connection.id, count: 1, hasMore: false, items: [expect.objectContaining({ id: acme, type: 'record', title: 'Acme Components' })] },
    ]);
    const marked = expectStatus(await api('GET', `/v1/connections/${connection.id}/candidates?parentId=${purchase.id}&q=acme`), 200);
    expect(marked.items.map((i: any) => [i.title, i.connected])).toEqual([
      ['Acme Components', true],
      ['acme Logistics', false],
    ]);
    // Single entry: a second supplier is one too many.
    expectProblem(await api('POST', `/v1/cards/${purchase.id}/children`, { connectionId: connection.id, childId: records['acme Logistics'] }), 409);

    const ordered = expectStatus(await api('POST', `/v1/cards/${purchase.id}/move`, { phaseId: phase(purchasing, 'Ordered') }), 200);
    expect(ordered).toMatchObject({ finished: true, values: { [field.id]: [acme] } });

    // Many purchases may share one supplier: the record lists its parents.
    const second = expectStatus(await api('POST', `/v1/pipes/${purchasing.id}/cards`, { values: { [p['Item']!]: 'Standing desks' } }), 201);
    expectStatus(await api('POST', `/v1/cards/${second.id}/children`, { connectionId: connection.id, childId: acme }), 201);
    const supplier = expectStatus(await api('GET', `/v1/records/${acme}`), 200);
    expect(supplier.parents).toHaveLength(1);
    expect(supplier.parents[0].connectionId).toBe(connection.id);
    expect(supplier.parents[0].items.map((i: any) => i.title).sort()).toEqual(['Ergonomic chairs', 'Standing desks']);
  });
});

describe('Databases: Companies is the parent of Contacts', () => {
  it('a contact created from its company carries the company name; both records show the connection', async () => {
    const api = await clientFor(freshOrg('crm'));
    const companies = expectStatus(
      await api('POST', '/v1/databases', {
        name: 'Companies',
        fields: [
          { label: 'Company name', type: 'short_text', required: true, isTitle: true },
          { label: 'Industry', type: 'single_select', options: ['Manufacturing', 'Software'] },
        ],
      }),
      201,
    );
    const contacts = expectStatus(
      await api('POST', '/v1/databases', {
        name: 'Contacts',
        fields: [
          { label: 'Name', type: 'short_text', required: true, isTitle: true },
          { label: 'Email', type: 'email' },
          { label: 'Company', type: 'short_text' },
        ],
      }),
      201,
    );
    const co = byLabel(companies.fields);
    const ct = byLabel(contacts.fields);
    // A database has no phases: rules are refused.
    expectProblem(
      await api('POST', '/v1/connections', {
        name: 'Contacts',
        parent: { type: 'database', id: companies.id },
        child: { type: 'database', id: contacts.id },
        entries: 'multiple',
        rules: { childRequiredToMove: true },
      }),
      422,
    );
    const connection = expectStatus(
      await api('POST', '/v1/connections', {
        name: 'Contacts',
        parent: { type: 'database', id: companies.id },
        child: { type: 'database', id: contacts.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: ct['Company'], parentFieldId: co['Company name'], sync: true }],
      }),
      201,
    );
    expect(expectStatus(await api('GET', `/v1/connections?databaseId=${contacts.id}`), 200).items.map((c: any) => c.id)).toEqual([connection.id]);

    const company = expectStatus(
      await api('POST', `/v1/databases/${companies.id}/records`, {
        values: { [co['Company name']!]: 'Globex Corporation', [co['Industry']!]: 'Manufacturing' },
      }),
      201,
    );
    const people: any[] = [];
    for (const [name, email] of [
      ['Marta Ribeiro', 'marta@globex.example.com'],
      ['Jonas Weber', 'jonas@globex.example.com'],
    ] as const) {
      const contact = expectStatus(
        await api('POST', `/v1/records/${company.id}/children`, {
          connectionId: connection.id,
          create: { values: { [ct['Name']!]: name, [ct['Email']!]: email } },
        }),
        201,
      );
      expect(contact).toMatchObject({ databaseId: contacts.id, title: name });
      expect(contact.values).toEqual({ [ct['Name']!]: name, [ct['Email']!]: email, [ct['Company']!]: 'Globex Corporation' });
      people.push(contact);
    }
    // The synced company name cannot be set on the contact, neither at creation nor later.
    expectProblem(
      await api('POST', `/v1/records/${company.id}/children`, {
        connectionId: connection.id,
        create: { values: { [ct['Name']!]: 'X', [ct['Company']!]: 'Initech' } },
      }),
      422,
    );
    expectProblem(await api('PATCH', `/v1/records/${people[0].id}`, { values: { [ct['Company']!]: 'Initech' } }), 409);

    const parent = expectStatus(await api('GET', `/v1/records/${company.id}`), 200);
    expect(parent.parents).toEqual([]);
    expect(parent.children).toHaveLength(1);
    expect(parent.children[0]).toMatchObject({ connectionId: connection.id, count: 2, hasMore: false });
    expect(parent.children[0].items.map((i: any) => [i.title, i.type, i.containerId]).sort()).toEqual([
      ['Jonas Weber', 'record', contacts.id],
      ['Marta Ribeiro', 'record', contacts.id],
    ]);
    for (const person of people) {
      const child = expectStatus(await api('GET', `/v1/records/${person.id}`), 200);
      expect(child.children).toEqual([]);
      expect(child.parents).toEqual([
        {
          connectionId: connection.id,
          items: [expect.objectContaining({ id: company.id, type: 'record', containerId: companies.id, title: 'Globex Corporation' })],
        },
      ]);
    }

    // Renaming the company reaches its contacts (stream propagation) and their headers.
    expectStatus(await api('PATCH', `/v1/records/${company.id}`, { values: { [co['Company name']!]: 'Globex Inc.' } }), 200);
    const renamed = await eventually(
      async () => expectStatus(await api('GET', `/v1/records/${people[1].id}`), 200),
      (record) => record.values[ct['Company']!] === 'Globex Inc.' && record.parents[0]?.items[0]?.title === 'Globex Inc.',
    );
    expect(renamed.values[ct['Company']!]).toBe('Globex Inc.');
    expect(renamed.parents[0].items[0].title).toBe('Globex Inc.');

    // Deleting a contact removes it from the company's header.
    expect((await api('DELETE', `/v1/records/${people[0].id}`)).status).toBe(204);
    const after = expectStatus(await api('GET', `/v1/records/${company.id}`), 200);
    expect(after.children[0]).toMatchObject({ count: 1, items: [expect.objectContaining({ id: people[1].id })] });
  });
});

describe('the demo seed', () => {
  it('holds the four scenarios, each exactly once, however often it runs', async () => {
    const first = await seedDemo({ url: runtime.url, issuer: runtime.issuer, orgId: DEMO_ORG });
    const second = await seedDemo({ url: runtime.url, issuer: runtime.issuer, orgId: DEMO_ORG });
    expect(first.created).toEqual({ pipe: true, database: true });
    expect(second).toEqual({ ...first, created: { pipe: false, database: false } });

    const api = await clientFor(DEMO_ORG, 'viewer');
    const pipes = expectStatus(await api('GET', '/v1/pipes?limit=100'), 200).items.map((p: any) => p.name);
    expect([...pipes].sort()).toEqual([...DEMO_PIPES].sort());
    const databases = expectStatus(await api('GET', '/v1/databases?limit=100'), 200).items.map((d: any) => d.name);
    expect([...databases].sort()).toEqual([...DEMO_DATABASES].sort());
    const connections = expectStatus(await api('GET', '/v1/connections?limit=100'), 200).items;
    expect(connections.map((c: any) => c.name).sort()).toEqual(Object.values(DEMO_CONNECTIONS).sort());
    const conn = (name: string) => connections.find((c: any) => c.name === name);
    const pipeIds = first.pipes;
    const dbIds = first.databases;
    expect(conn(DEMO_CONNECTIONS.onboarding)).toMatchObject({
      parent: { type: 'pipe', id: pipeIds['Recruiting'] },
      child: { type: 'pipe', id: pipeIds['Employee onboarding'] },
      entries: 'single',
      canCreate: true,
      canConnectExisting: false,
      rules: { childRequiredToFinish: true },
    });
    expect(conn(DEMO_CONNECTIONS.onboarding).fieldMap.filter((e: any) => e.sync)).toHaveLength(1);
    expect(conn(DEMO_CONNECTIONS.onboarding).fieldMap.find((e: any) => e.value !== undefined)).toMatchObject({ value: 'People', sync: false });
    expect(conn(DEMO_CONNECTIONS.customerOnboarding)).toMatchObject({
      parent: { id: pipeIds['Sales CRM'] },
      child: { id: pipeIds['Customer onboarding'] },
      entries: 'multiple',
      rules: { childrenFinishedToFinish: true },
    });
    expect(conn(DEMO_CONNECTIONS.supplier)).toMatchObject({
      parent: { type: 'pipe', id: pipeIds['Purchasing'] },
      child: { type: 'database', id: dbIds['Suppliers'] },
      canCreate: false,
    });
    expect(conn(DEMO_CONNECTIONS.contacts)).toMatchObject({
      parent: { type: 'database', id: dbIds['Companies'] },
      child: { type: 'database', id: dbIds['Contacts'] },
      entries: 'multiple',
      fieldMap: [expect.objectContaining({ sync: true })],
    });

    const cards = async (pipe: string) => expectStatus(await api('GET', `/v1/pipes/${pipeIds[pipe]}/cards?limit=100`), 200).items;
    const records = async (db: string) => expectStatus(await api('GET', `/v1/databases/${dbIds[db]}/records?limit=100`), 200).items;

    // HR: Ada went through Hired, where the automation created her onboarding card, and finished in Onboarded.
    const recruiting = expectStatus(await api('GET', `/v1/pipes/${pipeIds['Recruiting']}`), 200);
    expect(recruiting.phases.map((p: any) => [p.name, p.done])).toEqual([
      ['Applied', false],
      ['Interview', false],
      ['Offer', false],
      ['Hired', false],
      ['Onboarded', true],
      ['Rejected', true],
    ]);
    expect((await cards('Recruiting')).map((c: any) => c.title).sort()).toEqual(['Ada Lovelace', 'Alan Turing', 'Grace Hopper']);
    const ada = (await cards('Recruiting')).find((c: any) => c.title === 'Ada Lovelace');
    const adaHeader = expectStatus(await api('GET', `/v1/cards/${ada.id}`), 200);
    expect(adaHeader).toMatchObject({ finished: true, phaseId: phase(recruiting, 'Onboarded') });
    expect(adaHeader.phaseHistory.map((h: any) => h.phaseId)).toContain(phase(recruiting, 'Hired'));
    expect(adaHeader.children).toEqual([expect.objectContaining({ connectionId: conn(DEMO_CONNECTIONS.onboarding).id, count: 1 })]);
    expect((await cards('Employee onboarding')).map((c: any) => c.title)).toEqual(['Ada Lovelace']);

    // The two automations, once each; Ada's onboarding card came from the first.
    const automations = async (pipe: string) => expectStatus(await api('GET', `/v1/automations?pipeId=${pipeIds[pipe]}`), 200).items;
    const onboardNewHires = await automations('Recruiting');
    expect(onboardNewHires).toEqual([
      expect.objectContaining({
        id: first.automations[DEMO_AUTOMATIONS.onboardNewHires],
        name: DEMO_AUTOMATIONS.onboardNewHires,
        enabled: true,
        trigger: { type: 'card.entered_phase', phaseId: phase(recruiting, 'Hired') },
        action: { type: 'create_connected_card', connectionId: conn(DEMO_CONNECTIONS.onboarding).id },
      }),
    ]);
    const runs = expectStatus(await api('GET', `/v1/automations/${onboardNewHires[0].id}/runs`), 200).items;
    expect(runs).toEqual([expect.objectContaining({ subjectId: ada.id, status: 'done', childId: adaHeader.children[0].items[0].id })]);
    const sales = expectStatus(await api('GET', `/v1/pipes/${pipeIds['Sales CRM']}`), 200);
    expect(await automations('Sales CRM')).toEqual([
      expect.objectContaining({
        id: first.automations[DEMO_AUTOMATIONS.closeWonDeals],
        name: DEMO_AUTOMATIONS.closeWonDeals,
        trigger: { type: 'children.all_finished', connectionId: conn(DEMO_CONNECTIONS.customerOnboarding).id },
        action: { type: 'move_card', phaseId: phase(sales, 'Won') },
      }),
    ]);

    // Sales: one deal with two onboarding cards.
    const deals = await cards('Sales CRM');
    expect(deals.map((c: any) => c.title)).toEqual(['Globex annual plan']);
    const dealHeader = expectStatus(await api('GET', `/v1/cards/${deals[0].id}`), 200);
    expect(dealHeader.children[0]).toMatchObject({ connectionId: conn(DEMO_CONNECTIONS.customerOnboarding).id, count: 2 });
    expect(await cards('Customer onboarding')).toHaveLength(2);

    // Finance: one purchase in Approval with a supplier connected through the required field.
    const purchasing = expectStatus(await api('GET', `/v1/pipes/${pipeIds['Purchasing']}`), 200);
    const approvalFields = purchasing.phases.find((p: any) => p.name === 'Approval').fields;
    expect(approvalFields).toEqual([
      expect.objectContaining({ label: 'Supplier', type: 'connection', required: true, connectionId: conn(DEMO_CONNECTIONS.supplier).id }),
    ]);
    const purchases = await cards('Purchasing');
    expect(purchases).toHaveLength(1);
    const purchaseHeader = expectStatus(await api('GET', `/v1/cards/${purchases[0].id}`), 200);
    expect(purchaseHeader.children).toEqual([
      expect.objectContaining({ count: 1, items: [expect.objectContaining({ title: 'Acme Components', type: 'record' })] }),
    ]);
    expect((await records('Suppliers')).map((r: any) => r.title)).toEqual(['Acme Components', 'Nordlicht GmbH', 'Lusitana Têxteis']);

    // Databases: one company with two contacts that carry its name.
    const companies = await records('Companies');
    expect(companies.map((r: any) => r.title)).toEqual(['Globex Corporation']);
    const contacts = await records('Contacts');
    expect(contacts.map((r: any) => r.title).sort()).toEqual(['Jonas Weber', 'Marta Ribeiro']);
    expect(contacts.every((r: any) => Object.values(r.values).includes('Globex Corporation'))).toBe(true);
    expect(expectStatus(await api('GET', `/v1/records/${companies[0].id}`), 200).children[0].count).toBe(2);
  });
});
