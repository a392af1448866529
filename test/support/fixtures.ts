import type { client } from './api';
/** Request bodies shared by tests: a recruiting pipe with one field of every kind that matters. */
export const recruitingPipe = {
  name: 'Recruiting',
  startFormFields: [
    { label: 'Candidate name', type: 'short_text', required: true, isTitle: true },
    { label: 'Email', type: 'email', required: true },
    { label: 'Role', type: 'single_select', options: ['Engineer', 'Designer', 'Sales'] },
    { label: 'Skills', type: 'multi_select', options: ['TypeScript', 'AWS', 'Figma'] },
    { label: 'Start date', type: 'date' },
  ],
  phases: [
    { name: 'Applied' },
    { name: 'Interview', fields: [{ label: 'Interview score', type: 'number', required: true }] },
    { name: 'Offer', fields: [{ label: 'Salary', type: 'currency' }] },
    { name: 'Hired', done: true },
  ],
};

/** Field ids of a pipe view by label (start form and phases). */
export function fieldIds(pipe: {
  startForm: { fields: Array<{ id: string; label: string }> };
  phases: Array<{ fields: Array<{ id: string; label: string }> }>;
}) {
  const all = [...pipe.startForm.fields, ...pipe.phases.flatMap((p) => p.fields)];
  return Object.fromEntries(all.map((f) => [f.label, f.id])) as Record<string, string>;
}

/** An Accounts and a Tasks pipe with the same start form: Name (the title field), Region, Note. */
export async function accountAndTaskPipes(api: ReturnType<typeof client>) {
  const fields = [
    { label: 'Name', type: 'short_text', isTitle: true },
    { label: 'Region', type: 'short_text' },
    { label: 'Note', type: 'short_text' },
  ];
  const parentPipe = (await api('createPipe', { body: { name: 'Accounts', startFormFields: fields } })).body;
  const childPipe = (await api('createPipe', { body: { name: 'Tasks', startFormFields: fields } })).body;
  const [pName, pRegion] = parentPipe.startForm.fields.map((f: any) => f.id);
  const [cName, cRegion, cNote] = childPipe.startForm.fields.map((f: any) => f.id);
  return { parentPipe, childPipe, pName, pRegion, cName, cRegion, cNote };
}

/** Any caller of the API by route id: the tests' client, or the bench's. */
type CallApi = (routeId: any, options?: { params?: Record<string, string>; body?: unknown }) => Promise<{ status: number; body: any }>;

const NAME_AND_TIER = (name: string): object => ({
  name,
  startFormFields: [
    { label: 'Name', type: 'short_text', isTitle: true },
    { label: 'Tier', type: 'short_text' },
  ],
});

/**
 * A parent and a child pipe made from `pipe` (Name, the title field, then Tier) and a multiple
 * connection whose field map syncs both from parent to child: the shape fan-outs propagate
 * through, in the tests and the benches.
 */
export async function syncedPipes(
  api: CallApi,
  pipe: (name: string) => object = NAME_AND_TIER,
  names = { parent: 'Parent', child: 'Child', connection: 'Children' },
) {
  const parentPipe = (await api('createPipe', { body: pipe(names.parent) })).body;
  const childPipe = (await api('createPipe', { body: pipe(names.child) })).body;
  const [pName, pTier] = parentPipe.startForm.fields.map((f: { id: string }) => f.id) as [string, string];
  const [cName, cTier] = childPipe.startForm.fields.map((f: { id: string }) => f.id) as [string, string];
  const connection = (
    await api('createConnection', {
      body: {
        name: names.connection,
        parent: { type: 'pipe', id: parentPipe.id },
        child: { type: 'pipe', id: childPipe.id },
        entries: 'multiple',
        fieldMap: [
          { childFieldId: cName, parentFieldId: pName, sync: true },
          { childFieldId: cTier, parentFieldId: pTier, sync: true },
        ],
      },
    })
  ).body;
  return { parentPipe, childPipe, connection, f: { pName, pTier, cName, cTier } };
}

/**
 * syncedPipes with a parent card (Name v0, Tier t0) and `children` children created from it
 * through the API, five at a time.
 */
export async function syncedParent(api: CallApi, children: number) {
  const { parentPipe, childPipe, connection, f } = await syncedPipes(api);
  const parent = (await api('createCard', { params: { pipeId: parentPipe.id }, body: { values: { [f.pName]: 'v0', [f.pTier]: 't0' } } })).body;
  for (let i = 0; i < children; i += 5) {
    const created = await Promise.all(
      Array.from({ length: Math.min(5, children - i) }, () =>
        api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: {} } }),
      ),
    );
    const refused = created.find((r) => r.status !== 201);
    if (refused) throw new Error(`creating a child answered ${refused.status}: ${JSON.stringify(refused.body)}`);
  }
  return { parent, childPipe, f };
}
