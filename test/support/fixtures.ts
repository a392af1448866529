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
