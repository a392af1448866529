/**
 * Seeds the demo organization through the HTTP API itself, with an admin token: the public
 * contract, never store internals. Idempotent by name: a pipe or database that already exists
 * (say, kept by `npm start -- --data`) is left as it is.
 */
import type { DevIssuer } from './dev-issuer';

export const DEMO_ORG = 'demo';
export const DEMO_PIPE_NAME = 'Recruiting';
export const DEMO_DATABASE_NAME = 'Suppliers';

export interface SeedResult {
  orgId: string;
  pipeId: string;
  databaseId: string;
  /** What this run created; false means it was there already. */
  created: { pipe: boolean; database: boolean };
}

export class SeedError extends Error {}

interface FieldView { id: string; label: string }
interface PipeView { id: string; name: string; startForm: { fields: FieldView[] }; phases: Array<{ id: string; name: string; fields: FieldView[] }> }
interface DatabaseView { id: string; name: string; fields: FieldView[] }
interface Page<T> { items: T[]; nextCursor: string | null }

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
      try {
        const problem = JSON.parse(text) as { detail?: string; code?: string };
        detail = `${problem.code ?? ''} ${problem.detail ?? text}`.trim();
      } catch {
        // not JSON: keep the text
      }
      throw new SeedError(`Seeding failed: ${method} ${path} answered ${response.status}: ${detail}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

async function findByName<T extends { id: string; name: string }>(api: Api, path: string, name: string): Promise<T | undefined> {
  let cursor: string | null = null;
  do {
    const query: string = `?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: Page<T> = await api<Page<T>>('GET', `${path}${query}`);
    const hit = page.items.find((item) => item.name === name);
    if (hit) return hit;
    cursor = page.nextCursor;
  } while (cursor);
  return undefined;
}

function fieldIds(fields: FieldView[]): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f.label, f.id]));
}

function fieldId(ids: Record<string, string>, label: string): string {
  const id = ids[label];
  if (!id) throw new SeedError(`Seeding failed: the API returned no field "${label}"`);
  return id;
}

async function seedRecruiting(api: Api): Promise<{ id: string; created: boolean }> {
  const existing = await findByName<PipeView>(api, '/v1/pipes', DEMO_PIPE_NAME);
  if (existing) return { id: existing.id, created: false };

  const pipe = await api<PipeView>('POST', '/v1/pipes', {
    name: DEMO_PIPE_NAME,
    description: 'Hiring: from application to signed offer.',
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
      { name: 'Hired', done: true },
      { name: 'Rejected', done: true },
    ],
  });

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
  await api('POST', `/v1/pipes/${pipe.id}/cards`, candidate('Grace Hopper', 'grace@example.com', 'Data analyst'));
  await api('POST', `/v1/pipes/${pipe.id}/cards`, candidate('Alan Turing', 'alan@example.com', 'Frontend engineer'));
  await api('POST', `/v1/cards/${ada.id}/move`, { phaseId: interviewPhase.id });
  await api('PATCH', `/v1/cards/${ada.id}`, {
    values: { [fieldId(interview, 'Interview score')]: 9, [fieldId(interview, 'Interview notes')]: 'Strong systems design; wrote the first algorithm for the Analytical Engine.' },
  });
  return { id: pipe.id, created: true };
}

async function seedSuppliers(api: Api): Promise<{ id: string; created: boolean }> {
  const existing = await findByName<DatabaseView>(api, '/v1/databases', DEMO_DATABASE_NAME);
  if (existing) return { id: existing.id, created: false };

  const database = await api<DatabaseView>('POST', '/v1/databases', {
    name: DEMO_DATABASE_NAME,
    description: 'Companies we buy from.',
    fields: [
      { label: 'Name', type: 'short_text', required: true, isTitle: true },
      { label: 'Contact', type: 'email' },
      { label: 'Country', type: 'single_select', options: ['Brazil', 'Germany', 'Portugal', 'United States'] },
      { label: 'Payment terms', type: 'single_select', options: ['Prepaid', 'Net 15', 'Net 30', 'Net 60'] },
    ],
  });
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
  return { id: database.id, created: true };
}

/** Seeds organization `demo` against a running gateway at `url`. */
export async function seedDemo(options: { url: string; issuer: DevIssuer; orgId?: string }): Promise<SeedResult> {
  const orgId = options.orgId ?? DEMO_ORG;
  const token = await options.issuer.mintToken({ orgId, role: 'admin', sub: 'seed', expiresIn: '10m' });
  const api = apiClient(options.url, token);
  const pipe = await seedRecruiting(api);
  const database = await seedSuppliers(api);
  return { orgId, pipeId: pipe.id, databaseId: database.id, created: { pipe: pipe.created, database: database.created } };
}
