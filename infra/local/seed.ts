/**
 * Seeds the demo organization through the HTTP API itself, with an admin token: the public
 * contract, never store internals. Idempotent by name: a pipe, database, connection or sample
 * item that already exists (say, kept by `npm start -- --data`) is left as it is.
 *
 * The demo holds the four connection scenarios of the README:
 *   HR        Recruiting → Employee onboarding   (single entry, create only, auto-fill, one synced field)
 *   Sales     Sales CRM → Customer onboarding    (multiple entries, all children finished to finish)
 *   Finance   Purchasing → Suppliers (database)  (connect existing only, a required connection field)
 *   Databases Companies → Contacts               (multiple entries, company name synced)
 * and two automations:
 *   Onboard new hires  a candidate enters Hired → its Employee onboarding card is created
 *   Close won deals    all of a deal's Customer onboarding cards are Live → the deal moves to Won
 *
 * Hired is not a done phase: the candidate finishes in Onboarded, which the connection's
 * childRequiredToFinish rule keeps closed until the onboarding card exists. (With Hired done,
 * no card could ever enter it without a child, and the automation would never fire.) A store
 * seeded before that change (Hired done, no Onboarded) is upgraded in place.
 */
import type { DevIssuer } from './dev-issuer';

export const DEMO_ORG = 'demo';
export const DEMO_PIPE_NAME = 'Recruiting';
export const DEMO_DATABASE_NAME = 'Suppliers';

/** Every demo pipe and database, by name, and the connections between them. */
export const DEMO_PIPES = ['Recruiting', 'Employee onboarding', 'Sales CRM', 'Customer onboarding', 'Purchasing'] as const;
export const DEMO_DATABASES = ['Suppliers', 'Companies', 'Contacts'] as const;
export const DEMO_CONNECTIONS = {
  /** Recruiting → Employee onboarding */
  onboarding: 'Onboarding',
  /** Sales CRM → Customer onboarding */
  customerOnboarding: 'Customer onboarding',
  /** Purchasing → Suppliers */
  supplier: 'Supplier',
  /** Companies → Contacts */
  contacts: 'Contacts',
} as const;
export const DEMO_AUTOMATIONS = {
  /** Recruiting: card.entered_phase Hired → create_connected_card through Onboarding */
  onboardNewHires: 'Onboard new hires',
  /** Sales CRM: children.all_finished through Customer onboarding → move_card Won */
  closeWonDeals: 'Close won deals',
} as const;

/** How long the seed waits for the stream to run an automation it relies on. */
const AUTOMATION_WAIT_MS = 15_000;

export interface SeedResult {
  orgId: string;
  /** The Recruiting pipe. */
  pipeId: string;
  /** The Suppliers database. */
  databaseId: string;
  /** What this run created of Recruiting and Suppliers; false means it was there already. */
  created: { pipe: boolean; database: boolean };
  /** Ids of every demo pipe, database and connection, by name. */
  pipes: Record<string, string>;
  databases: Record<string, string>;
  connections: Record<string, string>;
  automations: Record<string, string>;
}

export class SeedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface FieldView {
  id: string;
  label: string;
  type: string;
  options?: string[];
}
interface PhaseView {
  id: string;
  name: string;
  done: boolean;
  fields: FieldView[];
}
interface PipeView {
  id: string;
  name: string;
  startForm: { fields: FieldView[] };
  phases: PhaseView[];
}
interface DatabaseView {
  id: string;
  name: string;
  fields: FieldView[];
}
interface ConnectionView {
  id: string;
  name: string;
  parent: { type: string; id: string };
}
interface ItemView {
  id: string;
  title: string;
  phaseId?: string;
  finished?: boolean;
}
interface AutomationView {
  id: string;
  name: string;
  pipeId: string;
}
interface HeaderView extends ItemView {
  children: Array<{ connectionId: string; count?: number; items: ItemView[] }>;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

function apiClient(baseUrl: string, token: string): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(new URL(path, baseUrl), {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) {
      let detail = text;
      let code: string | undefined;
      try {
        const problem = JSON.parse(text) as { detail?: string; code?: string };
        code = problem.code;
        detail = `${problem.code ?? ''} ${problem.detail ?? text}`.trim();
      } catch {
        // not JSON: keep the text
      }
      throw new SeedError(`Seeding failed: ${method} ${path} answered ${response.status}: ${detail}`, response.status, code);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

async function findIn<T>(api: Api, path: string, match: (item: T) => boolean): Promise<T | undefined> {
  let cursor: string | null = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const query: string = `${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: Page<T> = await api<Page<T>>('GET', `${path}${query}`);
    const hit = page.items.find(match);
    if (hit) return hit;
    cursor = page.nextCursor;
  } while (cursor);
  return undefined;
}

const findByName = <T extends { id: string; name: string }>(api: Api, path: string, name: string) => findIn<T>(api, path, (item) => item.name === name);

function fieldIds(fields: FieldView[]): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f.label, f.id]));
}

/** Every field of a pipe, start form and phases, by label. */
function pipeFieldIds(pipe: PipeView): Record<string, string> {
  return fieldIds([...pipe.startForm.fields, ...pipe.phases.flatMap((p) => p.fields)]);
}

function fieldId(ids: Record<string, string>, label: string): string {
  const id = ids[label];
  if (!id) throw new SeedError(`Seeding failed: the API returned no field "${label}"`);
  return id;
}

function phaseId(pipe: PipeView, name: string): string {
  const phase = pipe.phases.find((p) => p.name === name);
  if (!phase) throw new SeedError(`Seeding failed: pipe ${pipe.name} has no phase "${name}"`);
  return phase.id;
}

/** The pipe named `name` (its full definition), created from `body` when missing. */
async function ensurePipe(api: Api, body: { name: string } & Record<string, unknown>): Promise<{ pipe: PipeView; created: boolean }> {
  const existing = await findByName<PipeView>(api, '/v1/pipes', body.name);
  if (existing) return { pipe: await api<PipeView>('GET', `/v1/pipes/${existing.id}`), created: false };
  return { pipe: await api<PipeView>('POST', '/v1/pipes', body), created: true };
}

async function ensureDatabase(api: Api, body: { name: string } & Record<string, unknown>): Promise<{ database: DatabaseView; created: boolean }> {
  const existing = await findByName<DatabaseView>(api, '/v1/databases', body.name);
  if (existing) return { database: await api<DatabaseView>('GET', `/v1/databases/${existing.id}`), created: false };
  return { database: await api<DatabaseView>('POST', '/v1/databases', body), created: true };
}

/** The connection named `body.name` whose parent is `body.parent`, created when missing. */
async function ensureConnection(
  api: Api,
  body: { name: string; parent: { type: 'pipe' | 'database'; id: string } } & Record<string, unknown>,
): Promise<string> {
  const scope = body.parent.type === 'pipe' ? `pipeId=${body.parent.id}` : `databaseId=${body.parent.id}`;
  const existing = await findIn<ConnectionView>(api, `/v1/connections?${scope}`, (c) => c.name === body.name && c.parent.id === body.parent.id);
  if (existing) return existing.id;
  return (await api<ConnectionView>('POST', '/v1/connections', body)).id;
}

const findCard = (api: Api, pipeId: string, title: string) => findIn<ItemView>(api, `/v1/pipes/${pipeId}/cards`, (c) => c.title === title);
const findRecord = (api: Api, databaseId: string, title: string) => findIn<ItemView>(api, `/v1/databases/${databaseId}/records`, (r) => r.title === title);

function childCount(header: HeaderView, connectionId: string): number {
  return header.children.find((g) => g.connectionId === connectionId)?.count ?? 0;
}

// ——— HR: Recruiting → Employee onboarding ———

async function seedRecruiting(api: Api): Promise<{ pipe: PipeView; created: boolean }> {
  const { pipe, created } = await ensurePipe(api, {
    name: DEMO_PIPE_NAME,
    description: 'Hiring: from application to a finished onboarding card.',
    startFormFields: [
      { label: 'Candidate name', type: 'short_text', required: true, isTitle: true },
      { label: 'Email', type: 'email', required: true },
      { label: 'Role', type: 'single_select', options: ['Backend engineer', 'Frontend engineer', 'Product designer', 'Data analyst'] },
      { label: 'Start date', type: 'date' },
    ],
    phases: [
      { name: 'Applied' },
      {
        name: 'Interview',
        fields: [
          { label: 'Interview score', type: 'number', description: '1 (no) to 10 (strong yes)' },
          { label: 'Interview notes', type: 'long_text' },
        ],
      },
      { name: 'Offer' },
      { name: 'Hired', description: 'Offer accepted: the onboarding card is created (automation "Onboard new hires").' },
      { name: 'Onboarded', done: true, description: 'Finished: needs the onboarding card.' },
      { name: 'Rejected', done: true },
    ],
  });
  if (!created) return { pipe: await upgradeHiringPhases(api, pipe), created };

  const start = fieldIds(pipe.startForm.fields);
  const interviewPhase = pipe.phases.find((p) => p.name === 'Interview');
  if (!interviewPhase) throw new SeedError('Seeding failed: the created pipe has no Interview phase');
  const interview = fieldIds(interviewPhase.fields);
  const candidate = (name: string, email: string, role: string, startDate?: string) => ({
    values: {
      [fieldId(start, 'Candidate name')]: name,
      [fieldId(start, 'Email')]: email,
      [fieldId(start, 'Role')]: role,
      ...(startDate ? { [fieldId(start, 'Start date')]: startDate } : {}),
    },
  });

  const ada = await api<{ id: string }>('POST', `/v1/pipes/${pipe.id}/cards`, candidate('Ada Lovelace', 'ada@example.com', 'Backend engineer', '2027-02-01'));
  await api('POST', `/v1/pipes/${pipe.id}/cards`, candidate('Grace Hopper', 'grace@example.com', 'Data analyst', '2027-03-01'));
  await api('POST', `/v1/pipes/${pipe.id}/cards`, candidate('Alan Turing', 'alan@example.com', 'Frontend engineer'));
  await api('POST', `/v1/cards/${ada.id}/move`, { phaseId: interviewPhase.id });
  await api('PATCH', `/v1/cards/${ada.id}`, {
    values: {
      [fieldId(interview, 'Interview score')]: 9,
      [fieldId(interview, 'Interview notes')]: 'Strong systems design; wrote the first algorithm for the Analytical Engine.',
    },
  });
  return { pipe, created: true };
}

/**
 * A Recruiting pipe kept from an older seed: Hired may be missing, or be the done phase, and
 * Onboarded may be missing. Brings it to Offer → Hired (open) → Onboarded (done). Cards that
 * finished in the old done Hired are moved on to Onboarded (they have their onboarding card:
 * the connection's rule required it), so no open phase holds finished cards.
 */
async function upgradeHiringPhases(api: Api, pipe: PipeView): Promise<PipeView> {
  let hired = pipe.phases.find((p) => p.name === 'Hired');
  const wasDone = hired?.done === true;
  if (!hired) {
    const offer = pipe.phases.findIndex((p) => p.name === 'Offer');
    pipe = await api<PipeView>('POST', `/v1/pipes/${pipe.id}/phases`, { name: 'Hired', ...(offer >= 0 ? { position: offer + 1 } : {}) });
  } else if (hired.done) {
    pipe = await api<PipeView>('PATCH', `/v1/pipes/${pipe.id}/phases/${hired.id}`, { done: false });
  }
  hired = pipe.phases.find((p) => p.name === 'Hired')!;
  const onboarded = pipe.phases.find((p) => p.name === 'Onboarded');
  if (!onboarded) {
    const position = pipe.phases.findIndex((p) => p.id === hired!.id) + 1;
    pipe = await api<PipeView>('POST', `/v1/pipes/${pipe.id}/phases`, { name: 'Onboarded', done: true, position });
  } else if (!onboarded.done) {
    pipe = await api<PipeView>('PATCH', `/v1/pipes/${pipe.id}/phases/${onboarded.id}`, { done: true });
  }
  if (wasDone) {
    const onboardedId = phaseId(pipe, 'Onboarded');
    const page = await api<Page<ItemView>>('GET', `/v1/pipes/${pipe.id}/cards?phaseId=${hired.id}&limit=100`);
    for (const card of page.items.filter((c) => c.finished)) {
      try {
        await api('POST', `/v1/cards/${card.id}/move`, { phaseId: onboardedId });
      } catch (error) {
        // Its onboarding card was deleted since: it stays in Hired, for someone to look at.
        if (!(error instanceof SeedError && error.status === 422)) throw error;
      }
    }
  }
  return pipe;
}

/** The automation named `body.name` on `body.pipeId`, created when missing (an existing one is left as it is). */
async function ensureAutomation(api: Api, body: { name: string; pipeId: string } & Record<string, unknown>): Promise<string> {
  const existing = await findIn<AutomationView>(api, `/v1/automations?pipeId=${body.pipeId}`, (a) => a.name === body.name);
  if (existing) return existing.id;
  return (await api<AutomationView>('POST', '/v1/automations', body)).id;
}

/** Polls the card until it has a child through the connection (made by an automation, from the stream). */
async function waitForChild(api: Api, cardId: string, connectionId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (childCount(await api<HeaderView>('GET', `/v1/cards/${cardId}`), connectionId) > 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function seedOnboarding(api: Api, recruiting: PipeView): Promise<{ pipeId: string; connectionId: string; automationId: string }> {
  const r = pipeFieldIds(recruiting);
  const recruitingRoles = recruiting.startForm.fields.find((f) => f.label === 'Role')?.options ?? [];
  const { pipe } = await ensurePipe(api, {
    name: 'Employee onboarding',
    description: 'From signed offer to a productive first week. Cards are created from hired candidates.',
    startFormFields: [
      { label: 'Employee name', type: 'short_text', required: true, isTitle: true },
      { label: 'Email', type: 'email', required: true },
      {
        label: 'Role',
        type: 'single_select',
        options: [...new Set([...recruitingRoles, 'Backend engineer', 'Frontend engineer', 'Product designer', 'Data analyst'])],
      },
      { label: 'Start date', type: 'date' },
      { label: 'Department', type: 'short_text' },
    ],
    phases: [
      { name: 'Paperwork', fields: [{ label: 'Contract signed', type: 'checklist', options: ['Contract', 'Tax form', 'Bank details'] }] },
      { name: 'Equipment and accounts', fields: [{ label: 'Laptop', type: 'single_select', options: ['MacBook Pro', 'ThinkPad X1', 'Dell XPS'] }] },
      { name: 'First week' },
      { name: 'Completed', done: true },
    ],
  });
  const o = pipeFieldIds(pipe);
  const connectionId = await ensureConnection(api, {
    name: DEMO_CONNECTIONS.onboarding,
    parent: { type: 'pipe', id: recruiting.id },
    child: { type: 'pipe', id: pipe.id },
    entries: 'single',
    canCreate: true,
    canConnectExisting: false,
    fieldMap: [
      { childFieldId: fieldId(o, 'Employee name'), parentFieldId: fieldId(r, 'Candidate name') },
      { childFieldId: fieldId(o, 'Email'), parentFieldId: fieldId(r, 'Email'), sync: true },
      { childFieldId: fieldId(o, 'Role'), parentFieldId: fieldId(r, 'Role') },
      { childFieldId: fieldId(o, 'Start date'), parentFieldId: fieldId(r, 'Start date') },
      { childFieldId: fieldId(o, 'Department'), value: 'People' },
    ],
    rules: { childRequiredToFinish: true },
    onParentDelete: 'block',
  });
  const hiredId = phaseId(recruiting, 'Hired');
  const automationId = await ensureAutomation(api, {
    name: DEMO_AUTOMATIONS.onboardNewHires,
    pipeId: recruiting.id,
    trigger: { type: 'card.entered_phase', phaseId: hiredId },
    action: { type: 'create_connected_card', connectionId },
  });

  // Ada is hired, and the automation creates her onboarding card; then she finishes (Onboarded).
  const ada = await findCard(api, recruiting.id, 'Ada Lovelace');
  if (ada) {
    const header = await api<HeaderView>('GET', `/v1/cards/${ada.id}`);
    if (!header.finished) {
      if (header.phaseId !== hiredId) {
        const offer = recruiting.phases.find((p) => p.name === 'Offer');
        if (offer && header.phaseId !== offer.id) await api('POST', `/v1/cards/${ada.id}/move`, { phaseId: offer.id });
        await api('POST', `/v1/cards/${ada.id}/move`, { phaseId: hiredId });
      }
      if (!(await waitForChild(api, ada.id, connectionId, AUTOMATION_WAIT_MS))) {
        // The stream is not being processed (or is slow): create it by hand; the run, if it comes, is skipped.
        try {
          await api('POST', `/v1/cards/${ada.id}/children`, { connectionId, create: {} });
        } catch (error) {
          if (!(error instanceof SeedError && error.code === 'connection.limitReached')) throw error;
        }
      }
      await api('POST', `/v1/cards/${ada.id}/move`, { phaseId: phaseId(recruiting, 'Onboarded') });
    }
  }
  return { pipeId: pipe.id, connectionId, automationId };
}

// ——— Sales → customer success: Sales CRM → Customer onboarding ———

async function seedSales(api: Api): Promise<{ crmId: string; onboardingId: string; connectionId: string; automationId: string }> {
  const { pipe: crm } = await ensurePipe(api, {
    name: 'Sales CRM',
    description: 'Deals from first contact to signature.',
    startFormFields: [
      { label: 'Deal name', type: 'short_text', required: true, isTitle: true },
      { label: 'Customer', type: 'short_text', required: true },
      { label: 'Amount', type: 'currency' },
    ],
    phases: [{ name: 'Lead' }, { name: 'Negotiation' }, { name: 'Won', done: true }, { name: 'Lost', done: true }],
  });
  const { pipe: onboarding } = await ensurePipe(api, {
    name: 'Customer onboarding',
    description: 'Customer success: every won deal gets its onboarding workstreams.',
    startFormFields: [
      { label: 'Workstream', type: 'short_text', required: true, isTitle: true },
      { label: 'Customer', type: 'short_text' },
      { label: 'Contract value', type: 'currency' },
    ],
    phases: [{ name: 'Kickoff' }, { name: 'Setup' }, { name: 'Live', done: true }],
  });
  const d = pipeFieldIds(crm);
  const c = pipeFieldIds(onboarding);
  const connectionId = await ensureConnection(api, {
    name: DEMO_CONNECTIONS.customerOnboarding,
    parent: { type: 'pipe', id: crm.id },
    child: { type: 'pipe', id: onboarding.id },
    entries: 'multiple',
    canCreate: true,
    canConnectExisting: true,
    fieldMap: [
      { childFieldId: fieldId(c, 'Customer'), parentFieldId: fieldId(d, 'Customer'), sync: true },
      { childFieldId: fieldId(c, 'Contract value'), parentFieldId: fieldId(d, 'Amount') },
    ],
    rules: { childrenFinishedToFinish: true },
  });
  const automationId = await ensureAutomation(api, {
    name: DEMO_AUTOMATIONS.closeWonDeals,
    pipeId: crm.id,
    trigger: { type: 'children.all_finished', connectionId },
    action: { type: 'move_card', phaseId: phaseId(crm, 'Won') },
  });

  // A deal in negotiation whose two onboarding workstreams are already being prepared.
  const title = 'Globex annual plan';
  let deal = await findCard(api, crm.id, title);
  if (!deal) {
    deal = await api<ItemView>('POST', `/v1/pipes/${crm.id}/cards`, {
      values: { [fieldId(d, 'Deal name')]: title, [fieldId(d, 'Customer')]: 'Globex Corporation', [fieldId(d, 'Amount')]: 48_000 },
    });
    await api('POST', `/v1/cards/${deal.id}/move`, { phaseId: phaseId(crm, 'Negotiation') });
  }
  const header = await api<HeaderView>('GET', `/v1/cards/${deal.id}`);
  if (childCount(header, connectionId) === 0) {
    for (const workstream of ['Globex: data migration', 'Globex: team training']) {
      await api('POST', `/v1/cards/${deal.id}/children`, { connectionId, create: { values: { [fieldId(c, 'Workstream')]: workstream } } });
    }
  }
  return { crmId: crm.id, onboardingId: onboarding.id, connectionId, automationId };
}

// ——— Finance: Purchasing → Suppliers ———

async function seedSuppliers(api: Api): Promise<{ database: DatabaseView; created: boolean }> {
  const { database, created } = await ensureDatabase(api, {
    name: DEMO_DATABASE_NAME,
    description: 'Companies we buy from.',
    fields: [
      { label: 'Name', type: 'short_text', required: true, isTitle: true },
      { label: 'Contact', type: 'email' },
      { label: 'Country', type: 'single_select', options: ['Brazil', 'Germany', 'Portugal', 'United States'] },
      { label: 'Payment terms', type: 'single_select', options: ['Prepaid', 'Net 15', 'Net 30', 'Net 60'] },
    ],
  });
  if (!created) return { database, created };
  const ids = fieldIds(database.fields);
  const supplier = (name: string, contact: string, country: string, terms: string) => ({
    values: {
      [fieldId(ids, 'Name')]: name,
      [fieldId(ids, 'Contact')]: contact,
      [fieldId(ids, 'Country')]: country,
      [fieldId(ids, 'Payment terms')]: terms,
    },
  });
  await api('POST', `/v1/databases/${database.id}/records`, supplier('Acme Components', 'orders@acme.example.com', 'United States', 'Net 30'));
  await api('POST', `/v1/databases/${database.id}/records`, supplier('Nordlicht GmbH', 'einkauf@nordlicht.example.de', 'Germany', 'Net 60'));
  await api('POST', `/v1/databases/${database.id}/records`, supplier('Lusitana Têxteis', 'vendas@lusitana.example.pt', 'Portugal', 'Net 15'));
  return { database, created: true };
}

async function seedPurchasing(api: Api, suppliers: DatabaseView): Promise<{ pipeId: string; connectionId: string }> {
  const { pipe } = await ensurePipe(api, {
    name: 'Purchasing',
    description: 'Purchase requests: approved against a supplier from the Suppliers database, then ordered.',
    startFormFields: [
      { label: 'Item', type: 'short_text', required: true, isTitle: true },
      { label: 'Quantity', type: 'number' },
      { label: 'Amount', type: 'currency' },
    ],
    phases: [{ name: 'Request' }, { name: 'Approval' }, { name: 'Ordered', done: true }],
  });
  const connectionId = await ensureConnection(api, {
    name: DEMO_CONNECTIONS.supplier,
    parent: { type: 'pipe', id: pipe.id },
    child: { type: 'database', id: suppliers.id },
    entries: 'single',
    canCreate: false,
    canConnectExisting: true,
  });
  // The connection field: a purchase cannot leave Approval without its supplier.
  const approvalId = phaseId(pipe, 'Approval');
  let supplierField = pipe.phases.find((p) => p.id === approvalId)!.fields.find((f) => f.label === 'Supplier')?.id;
  supplierField ??= (
    await api<FieldView>('POST', `/v1/pipes/${pipe.id}/fields`, { label: 'Supplier', type: 'connection', connectionId, phaseId: approvalId, required: true })
  ).id;

  const title = 'Ergonomic office chairs';
  if (!(await findCard(api, pipe.id, title))) {
    const f = pipeFieldIds(pipe);
    const purchase = await api<ItemView>('POST', `/v1/pipes/${pipe.id}/cards`, {
      values: { [fieldId(f, 'Item')]: title, [fieldId(f, 'Quantity')]: 12, [fieldId(f, 'Amount')]: 4_188 },
    });
    await api('POST', `/v1/cards/${purchase.id}/move`, { phaseId: approvalId });
    // Found as a user finds it: by title prefix among the connection's candidates.
    const candidates = await api<Page<ItemView>>('GET', `/v1/connections/${connectionId}/candidates?parentId=${purchase.id}&q=acme`);
    const acme = candidates.items[0];
    if (acme) await api('PATCH', `/v1/cards/${purchase.id}`, { values: { [supplierField]: [acme.id] } });
  }
  return { pipeId: pipe.id, connectionId };
}

// ——— Databases: Companies → Contacts ———

async function seedCompanies(api: Api): Promise<{ companiesId: string; contactsId: string; connectionId: string }> {
  const { database: companies } = await ensureDatabase(api, {
    name: 'Companies',
    description: 'Customer accounts.',
    fields: [
      { label: 'Company name', type: 'short_text', required: true, isTitle: true },
      { label: 'Industry', type: 'single_select', options: ['Manufacturing', 'Retail', 'Software', 'Services'] },
      { label: 'Country', type: 'short_text' },
    ],
  });
  const { database: contacts } = await ensureDatabase(api, {
    name: 'Contacts',
    description: 'People at our customers.',
    fields: [
      { label: 'Name', type: 'short_text', required: true, isTitle: true },
      { label: 'Email', type: 'email' },
      { label: 'Job title', type: 'short_text' },
      { label: 'Company', type: 'short_text', description: 'Follows the company record it was created from.' },
    ],
  });
  const co = fieldIds(companies.fields);
  const ct = fieldIds(contacts.fields);
  const connectionId = await ensureConnection(api, {
    name: DEMO_CONNECTIONS.contacts,
    parent: { type: 'database', id: companies.id },
    child: { type: 'database', id: contacts.id },
    entries: 'multiple',
    fieldMap: [{ childFieldId: fieldId(ct, 'Company'), parentFieldId: fieldId(co, 'Company name'), sync: true }],
  });

  const name = 'Globex Corporation';
  let company = await findRecord(api, companies.id, name);
  company ??= await api<ItemView>('POST', `/v1/databases/${companies.id}/records`, {
    values: { [fieldId(co, 'Company name')]: name, [fieldId(co, 'Industry')]: 'Manufacturing', [fieldId(co, 'Country')]: 'United States' },
  });
  const header = await api<HeaderView>('GET', `/v1/records/${company.id}`);
  if (childCount(header, connectionId) === 0) {
    const contact = (person: string, email: string, job: string) => ({
      connectionId,
      create: { values: { [fieldId(ct, 'Name')]: person, [fieldId(ct, 'Email')]: email, [fieldId(ct, 'Job title')]: job } },
    });
    await api('POST', `/v1/records/${company.id}/children`, contact('Marta Ribeiro', 'marta.ribeiro@globex.example.com', 'CTO'));
    await api('POST', `/v1/records/${company.id}/children`, contact('Jonas Weber', 'jonas.weber@globex.example.com', 'Head of Finance'));
  }
  return { companiesId: companies.id, contactsId: contacts.id, connectionId };
}

/** Seeds organization `demo` (or `orgId`) against a running gateway at `url`. */
export async function seedDemo(options: { url: string; issuer: DevIssuer; orgId?: string }): Promise<SeedResult> {
  const orgId = options.orgId ?? DEMO_ORG;
  const token = await options.issuer.mintToken({ orgId, role: 'admin', sub: 'seed', expiresIn: '10m' });
  const api = apiClient(options.url, token);
  const recruiting = await seedRecruiting(api);
  const suppliers = await seedSuppliers(api);
  const hr = await seedOnboarding(api, recruiting.pipe);
  const sales = await seedSales(api);
  const finance = await seedPurchasing(api, suppliers.database);
  const crm = await seedCompanies(api);
  return {
    orgId,
    pipeId: recruiting.pipe.id,
    databaseId: suppliers.database.id,
    created: { pipe: recruiting.created, database: suppliers.created },
    pipes: {
      Recruiting: recruiting.pipe.id,
      'Employee onboarding': hr.pipeId,
      'Sales CRM': sales.crmId,
      'Customer onboarding': sales.onboardingId,
      Purchasing: finance.pipeId,
    },
    databases: { Suppliers: suppliers.database.id, Companies: crm.companiesId, Contacts: crm.contactsId },
    connections: {
      [DEMO_CONNECTIONS.onboarding]: hr.connectionId,
      [DEMO_CONNECTIONS.customerOnboarding]: sales.connectionId,
      [DEMO_CONNECTIONS.supplier]: finance.connectionId,
      [DEMO_CONNECTIONS.contacts]: crm.connectionId,
    },
    automations: {
      [DEMO_AUTOMATIONS.onboardNewHires]: hr.automationId,
      [DEMO_AUTOMATIONS.closeWonDeals]: sales.automationId,
    },
  };
}
