import { describe, expect, it } from 'vitest';
import { checkValue, checkValues, isFilled, normalizeTitle, type FieldSpec, type FieldType } from '../../domain/fields/field-types';

const field = (type: FieldType, options?: string[]): FieldSpec => ({ id: 'fld_x', label: 'F', type, ...(options ? { options } : {}) });

/** For each type: values it accepts (with what it stores) and values it refuses. */
const table: Array<[FieldType, string[] | undefined, Array<[unknown, unknown]>, unknown[]]> = [
  [
    'short_text',
    undefined,
    [
      ['Ada', 'Ada'],
      ['', ''],
    ],
    [42, 'a\nb', 'x'.repeat(256), null, ['a']],
  ],
  ['long_text', undefined, [['line 1\nline 2', 'line 1\nline 2']], [1, 'x'.repeat(20_001)]],
  [
    'number',
    undefined,
    [
      [0, 0],
      [-3.5, -3.5],
      [1e12, 1e12],
      [1e-130, 1e-130],
      [-2.5e-100, -2.5e-100],
    ],
    ['1', Number.NaN, Infinity, 2 ** 60, true, 1e-131, -5e-324, 1e126],
  ],
  [
    'currency',
    undefined,
    [
      [19.99, 19.99],
      [-5, -5],
      [0.1, 0.1],
    ],
    [1.234, '19.99', 1e14, 1e-200],
  ],
  ['date', undefined, [['2024-02-29', '2024-02-29']], ['2023-02-29', '2024-13-01', '24-01-01', '2024-01-01T00:00:00Z', 20240101]],
  [
    'datetime',
    undefined,
    [
      ['2026-11-27T10:00:00+01:00', '2026-11-27T09:00:00.000Z'],
      ['2026-11-27T09:00Z', '2026-11-27T09:00:00.000Z'],
    ],
    ['2026-11-27 10:00', '2026-11-27T10:00:00', '2026-02-30T10:00:00Z', 1700000000],
  ],
  ['email', undefined, [[' ada@example.com ', 'ada@example.com']], ['ada', 'ada@', 'a b@example.com', 'ada@example', 5]],
  [
    'phone',
    undefined,
    [
      ['+1 (415) 555-0123', '+14155550123'],
      ['+4930123456', '+4930123456'],
    ],
    ['4155550123', '+0123456789', '+1 415 CALL NOW', 14155550123],
  ],
  ['single_select', ['A', 'B'], [['A', 'A']], ['C', 'a', ['A'], 1]],
  [
    'multi_select',
    ['A', 'B'],
    [
      [
        ['A', 'B'],
        ['A', 'B'],
      ],
      [[], []],
    ],
    [['C'], ['A', 'A'], 'A', [1]],
  ],
  ['checklist', ['Docs', 'Laptop'], [[['Laptop'], ['Laptop']]], [['Car'], 'Docs']],
  [
    'assignee',
    undefined,
    [
      [
        ['user-1', 'auth0|abc'],
        ['user-1', 'auth0|abc'],
      ],
    ],
    [['has space'], 'user-1', [''], Array.from({ length: 101 }, (_, i) => `u${i}`)],
  ],
  [
    'attachment',
    undefined,
    [[['https://files.example.com/cv.pdf'], ['https://files.example.com/cv.pdf']]],
    [['ftp://x.example.com/a'], ['not a url'], 'https://x.example.com', ['javascript:alert(1)']],
  ],
];

describe('field value validation', () => {
  for (const [type, options, good, bad] of table) {
    describe(type, () => {
      for (const [input, stored] of good) {
        it(`accepts ${JSON.stringify(input)}`, () => {
          expect(checkValue(field(type, options), input)).toEqual({ ok: true, value: stored });
        });
      }
      for (const input of bad) {
        it(`refuses ${JSON.stringify(input)?.slice(0, 40)}`, () => {
          const result = checkValue(field(type, options), input);
          expect(result.ok).toBe(false);
        });
      }
    });
  }

  it('collects one problem per bad field with its path, and passes null through as "clear"', () => {
    const fields = new Map<string, FieldSpec>([
      ['fld_a', { id: 'fld_a', label: 'Age', type: 'number' }],
      ['fld_b', { id: 'fld_b', label: 'Colour', type: 'single_select', options: ['red'] }],
    ]);
    const { values, problems } = checkValues(fields, { fld_a: 'old', fld_b: null, fld_c: 1 });
    expect(values).toEqual({ fld_b: null });
    expect(problems).toEqual([
      { path: 'values.fld_a', message: 'Age must be a finite number', code: 'field.wrongType' },
      { path: 'values.fld_c', message: 'no field fld_c here', code: 'field.unknown' },
    ]);
  });

  it('treats empty strings and empty lists as not filled', () => {
    expect([isFilled(''), isFilled('  '), isFilled([]), isFilled(null), isFilled(undefined)]).toEqual([false, false, false, false, false]);
    expect([isFilled('x'), isFilled(0), isFilled(['a'])]).toEqual([true, true, true]);
  });

  it('normalizes titles for case- and accent-insensitive prefix search', () => {
    expect(normalizeTitle('  Ünïcode   Café  ')).toBe('unicode cafe');
  });
});

describe('numbers outside what DynamoDB stores', () => {
  it('are refused as out of range, naming the field', () => {
    const fields = new Map<string, FieldSpec>([['fld_n', { id: 'fld_n', label: 'Weight', type: 'number' }]]);
    expect(checkValues(fields, { fld_n: 1e-200 }).problems).toEqual([
      { path: 'values.fld_n', message: expect.stringContaining('Weight is too close to zero'), code: 'field.outOfRange' },
    ]);
  });
});
