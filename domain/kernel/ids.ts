import { monotonicFactory } from 'ulid';

/** Prefixed, sortable, opaque ids: `pipe_01J…`. The prefix says what an id names. */
export const ID_PREFIX = {
  pipe: 'pipe',
  phase: 'ph',
  field: 'fld',
  card: 'card',
  database: 'db',
  record: 'rec',
  connection: 'conn',
  automation: 'auto',
  webhook: 'wh',
  token: 'tok',
  job: 'job',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

const nextUlid = monotonicFactory();

export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${nextUlid()}`;
}

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const patterns = Object.fromEntries(Object.entries(ID_PREFIX).map(([kind, prefix]) => [kind, new RegExp(`^${prefix}_${ULID}$`)])) as Record<IdKind, RegExp>;

export function isId(kind: IdKind, value: string): boolean {
  return patterns[kind].test(value);
}

export function idPattern(kind: IdKind): RegExp {
  return patterns[kind];
}
