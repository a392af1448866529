/**
 * Capacity units by DynamoDB's sizing rules, computed from item images rather than taken from
 * DynamoDB Local's ConsumedCapacity (which does not follow the service's rules).
 *
 * Sizing (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * - item = Σ attribute name UTF-8 bytes + value size;
 * - S: UTF-8 bytes; B: bytes; N: ceil(significant digits / 2) + 1; BOOL / NULL: 1;
 *   L / M: 3 bytes + 1 byte per element + the elements (map keys count as names); sets: Σ members.
 * Reads: 1 RCU per 4 KB, strongly consistent; eventually consistent halves (GSI queries always
 * are). GetItem rounds per item, Query rounds the sum of the items it read (before any filter;
 * Select COUNT and ProjectionExpression do not reduce it). A read that finds nothing still costs
 * the minimum unit.
 * Writes: 1 WCU per 1 KB of the larger of the old and new image (at least 1, also for a delete of
 * nothing or a refused condition). Transactions double every item they touch (prepare + commit).
 * A ConditionCheck in TransactWriteItems is billed as a transactional *write* of the checked item
 * (2 WCU under 1 KB; measured on AWS, the docs are silent) — see CONDITION_CHECK below.
 * Every GSI holding the item (ALL projection here) costs one write of the index entry when the
 * entry appears, disappears or changes its projected attributes, and two (delete + put) when its
 * key changes. GSI writes are taken at the standard rate inside transactions too (assumption:
 * index propagation is not part of the two-phase commit).
 */

export type AttributeValue = {
  S?: string;
  N?: string;
  B?: Uint8Array;
  BOOL?: boolean;
  NULL?: boolean;
  L?: AttributeValue[];
  M?: Record<string, AttributeValue>;
  SS?: string[];
  NS?: string[];
  BS?: Uint8Array[];
};
export type RawItem = Record<string, AttributeValue>;

export const READ_UNIT_BYTES = 4096;
export const WRITE_UNIT_BYTES = 1024;
export const TRANSACTION_FACTOR = 2;
/** How a ConditionCheck in TransactWriteItems is billed: 'write' (observed) or 'read' (as a transactional read). */
export const CONDITION_CHECK: 'write' | 'read' = 'write';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** Size of a number as DynamoDB stores it: leading/trailing zeros trimmed, 2 digits a byte, +1. */
export function numberSize(n: string): number {
  const mantissa = n.trim().replace(/^[+-]/, '').split(/[eE]/)[0]!.replace('.', '');
  const digits = mantissa.replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueSize(v), 0);
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, s) => sum + numberSize(s), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  throw new Error(`Unknown attribute value ${JSON.stringify(value)}`);
}

export function itemSize(item: RawItem | undefined | null): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

/** Read units for `bytes` read in one rounding unit (a GetItem's item, a Query's whole result). */
export function readUnits(bytes: number, options: { consistent: boolean; transactional?: boolean }): number {
  const units = Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
  return units * (options.consistent ? 1 : 0.5) * (options.transactional ? TRANSACTION_FACTOR : 1);
}

/** Write units for an item whose larger image is `bytes`. */
export function writeUnits(bytes: number, options: { transactional?: boolean } = {}): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES)) * (options.transactional ? TRANSACTION_FACTOR : 1);
}

/** A ConditionCheck inside TransactWriteItems. */
export function conditionCheckUnits(bytes: number): { rcu: number; wcu: number } {
  return CONDITION_CHECK === 'write'
    ? { rcu: 0, wcu: writeUnits(bytes, { transactional: true }) }
    : { rcu: readUnits(bytes, { consistent: true, transactional: true }), wcu: 0 };
}

export interface IndexKeySchema {
  indexName: string;
  partitionKey: string;
  sortKey?: string;
}

function sameValue(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameItem(a: RawItem, b: RawItem): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!sameValue(a[k], b[k])) return false;
  return true;
}

export interface IndexWrite {
  indexName: string;
  kind: 'put' | 'delete' | 'update' | 'move';
  wcu: number;
}

/** The index writes a table write causes (ALL projection: an index entry is sized as the item). */
export function indexWrites(before: RawItem | undefined, after: RawItem | undefined, indexes: readonly IndexKeySchema[]): IndexWrite[] {
  const writes: IndexWrite[] = [];
  for (const index of indexes) {
    const keyNames = [index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])];
    const inBefore = !!before && keyNames.every((k) => before[k] !== undefined);
    const inAfter = !!after && keyNames.every((k) => after[k] !== undefined);
    if (!inBefore && !inAfter) continue;
    if (!inBefore) writes.push({ indexName: index.indexName, kind: 'put', wcu: writeUnits(itemSize(after)) });
    else if (!inAfter) writes.push({ indexName: index.indexName, kind: 'delete', wcu: writeUnits(itemSize(before)) });
    else if (keyNames.some((k) => !sameValue(before![k], after![k]))) {
      writes.push({ indexName: index.indexName, kind: 'move', wcu: writeUnits(itemSize(before)) + writeUnits(itemSize(after)) });
    } else if (!sameItem(before!, after!)) {
      writes.push({ indexName: index.indexName, kind: 'update', wcu: writeUnits(Math.max(itemSize(before), itemSize(after))) });
    }
  }
  return writes;
}

/** One item written by a request, with its images (from uncounted reads around the call). */
export interface WriteCharge {
  action: 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
  key: string;
  beforeBytes: number;
  afterBytes: number;
  transactional: boolean;
  tableWcu: number;
  tableRcu: number;
  index: IndexWrite[];
}

export function chargeWrite(
  action: WriteCharge['action'],
  key: string,
  before: RawItem | undefined,
  after: RawItem | undefined,
  transactional: boolean,
  indexes: readonly IndexKeySchema[],
): WriteCharge {
  const beforeBytes = itemSize(before);
  const afterBytes = itemSize(after);
  if (action === 'ConditionCheck') {
    const units = conditionCheckUnits(beforeBytes);
    return { action, key, beforeBytes, afterBytes: beforeBytes, transactional, tableWcu: units.wcu, tableRcu: units.rcu, index: [] };
  }
  return {
    action,
    key,
    beforeBytes,
    afterBytes,
    transactional,
    tableWcu: writeUnits(Math.max(beforeBytes, afterBytes), { transactional }),
    tableRcu: 0,
    index: indexWrites(before, after, indexes),
  };
}

export interface ReadCharge {
  what: string;
  bytes: number;
  items: number;
  consistent: boolean;
  transactional: boolean;
  rcu: number;
  /** How the bytes were obtained when the response did not carry whole items. */
  note?: string;
}

/** The capacity of one request. */
export interface RequestCharge {
  command: string;
  rcu: number;
  wcu: number;
  reads: ReadCharge[];
  writes: WriteCharge[];
  failed?: string;
}

export function totalOf(reads: ReadCharge[], writes: WriteCharge[]): { rcu: number; wcu: number } {
  const rcu = reads.reduce((s, r) => s + r.rcu, 0) + writes.reduce((s, w) => s + w.tableRcu, 0);
  const wcu = writes.reduce((s, w) => s + w.tableWcu + w.index.reduce((t, i) => t + i.wcu, 0), 0);
  return { rcu, wcu };
}

// ---------------------------------------------------------------------------------------------
// Self-checks, run when the bench starts: the rules above on sizes worked out by hand.

export function selfCheck(): void {
  const eq = (actual: number, expected: number, what: string) => {
    if (actual !== expected) throw new Error(`capacity self-check failed: ${what} = ${actual}, expected ${expected}`);
  };
  eq(numberSize('0'), 2, 'size of 0');
  eq(numberSize('1'), 2, 'size of 1');
  eq(numberSize('123'), 3, 'size of 123');
  eq(numberSize('-1200'), 2, 'size of -1200 (trailing zeros trimmed)');
  eq(numberSize('0.00123456'), 4, 'size of 0.00123456');
  eq(itemSize({ PK: { S: 'abc' } }), 5, '{PK: "abc"}');
  eq(itemSize({ name: { S: 'é' } }), 6, 'UTF-8 bytes of é');
  eq(itemSize({ n: { N: '12345' } }), 1 + 4, '{n: 12345}');
  eq(itemSize({ ok: { BOOL: true }, no: { NULL: true } }), 2 + 1 + 2 + 1, 'bool and null');
  eq(itemSize({ l: { L: [{ N: '1' }, { S: 'ab' }] } }), 1 + 3 + (1 + 2) + (1 + 2), 'list');
  eq(itemSize({ m: { M: { a: { S: 'xy' } } } }), 1 + 3 + 1 + 1 + 2, 'map');
  eq(itemSize({ ss: { SS: ['a', 'bc'] } }), 2 + 3, 'string set');
  eq(readUnits(0, { consistent: true }), 1, 'empty strongly consistent read');
  eq(readUnits(4096, { consistent: true }), 1, '4 KB strongly consistent');
  eq(readUnits(4097, { consistent: true }), 2, '4 KB + 1 strongly consistent');
  eq(readUnits(5000, { consistent: false }), 1, '5000 B eventually consistent');
  eq(readUnits(100, { consistent: false }), 0.5, 'small eventually consistent');
  eq(readUnits(100, { consistent: true, transactional: true }), 2, 'transactional read');
  eq(writeUnits(0), 1, 'delete of nothing');
  eq(writeUnits(1024), 1, '1 KB write');
  eq(writeUnits(1025), 2, '1 KB + 1 write');
  eq(writeUnits(500, { transactional: true }), 2, 'transactional write');
  const gsi = [{ indexName: 'G', partitionKey: 'gp', sortKey: 'gs' }];
  const a = { PK: { S: 'p' }, gp: { S: 'x' }, gs: { S: '1' }, v: { N: '1' } };
  eq(indexWrites(undefined, a, gsi)[0]!.wcu, 1, 'new item enters the index');
  eq(indexWrites(a, { ...a, v: { N: '2' } }, gsi)[0]!.wcu, 1, 'projected attribute changes');
  eq(indexWrites(a, { ...a, gp: { S: 'y' } }, gsi)[0]!.wcu, 2, 'index key changes: delete + put');
  eq(indexWrites(a, a, gsi).length, 0, 'unchanged item');
  eq(indexWrites({ PK: { S: 'p' } }, { PK: { S: 'p' }, v: { N: '1' } }, gsi).length, 0, 'item outside a sparse index');
  eq(
    chargeWrite('ConditionCheck', 'k', a, undefined, true, gsi).tableWcu + chargeWrite('ConditionCheck', 'k', a, undefined, true, gsi).tableRcu,
    2,
    'condition check',
  );
}
