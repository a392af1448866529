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

/**
 * A Parent and a Child pipe with Name (the title field) and Tier, and a multiple connection whose
 * field map syncs both from parent to child: the shape the fan-out tests propagate through.
 */
export async function syncedPipes(api: ReturnType<typeof client>) {
  const fields = [
    { label: 'Name', type: 'short_text', isTitle: true },
    { label: 'Tier', type: 'short_text' },
  ];
  const parentPipe = (await api('createPipe', { body: { name: 'Parent', startFormFields: fields } })).body;
  const childPipe = (await api('createPipe', { body: { name: 'Child', startFormFields: fields } })).body;
  const [pName, pTier] = parentPipe.startForm.fields.map((f: any) => f.id) as [string, string];
  const [cName, cTier] = childPipe.startForm.fields.map((f: any) => f.id) as [string, string];
  const connection = (
    await api('createConnection', {
      body: {
        name: 'Children',
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
