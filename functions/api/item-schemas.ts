/**
 * Contract of the integrator routes on cards and records: batch writes and list queries
 * (filters, sort, incremental sync). Kept beside schemas.ts so the shared module stays small.
 */
import { LIMITS } from '../../domain/fields/field-types';
import { once } from './lazy';
import { Card, DbRecord, Id, Values, z } from './schemas';
import { MAX_BATCH_ITEMS } from '../../domain/items/batch-limits';

const ItemTitle = /* @__PURE__ */ once(() => z.string().trim().min(1).max(LIMITS.shortText));

const batchItem = (kind: 'card' | 'record') =>
  z.strictObject({
    id: Id(kind)
      .optional()
      .openapi({ description: `Present: update this ${kind} (values merged, null clears). Absent: create a new ${kind}.` }),
    title: ItemTitle().optional(),
    values: Values().optional(),
    expectedVersion: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: 'Updates only: the version the item must still be at (as If-Match does for one item); otherwise the whole batch answers 412.' }),
  });

const batchBody = (kind: 'card' | 'record', name: string) =>
  z
    .strictObject({
      items: z
        .array(batchItem(kind))
        .min(1)
        .max(MAX_BATCH_ITEMS)
        .openapi({ description: `1 to ${MAX_BATCH_ITEMS} ${kind}s to create or update, all-or-nothing.` }),
    })
    .openapi(name, {
      example: {
        items: [
          { values: { fld_01JD0000000000000000000000: 'Ada Lovelace' } },
          {
            id: `${kind === 'card' ? 'card' : 'rec'}_01JD0000000000000000000001`,
            values: { fld_01JD0000000000000000000000: 'Grace Hopper' },
            expectedVersion: 3,
          },
        ],
      },
    });

export const BatchCards = /* @__PURE__ */ once(() => batchBody('card', 'BatchCards'));
export const BatchRecords = /* @__PURE__ */ once(() => batchBody('record', 'BatchRecords'));

export const BatchCardsResult = /* @__PURE__ */ once(() =>
  z.object({ items: z.array(Card()).openapi({ description: 'The cards as written, in the order of the request.' }) }).openapi('BatchCardsResult'),
);
export const BatchRecordsResult = /* @__PURE__ */ once(() =>
  z.object({ items: z.array(DbRecord()).openapi({ description: 'The records as written, in the order of the request.' }) }).openapi('BatchRecordsResult'),
);

// ——— List queries ———

const FilterParam = /* @__PURE__ */ once(() =>
  z
    .record(z.string().max(64), z.union([z.string().max(4_096), z.record(z.string().max(16), z.string().max(4_096))]))
    .optional()
    .openapi({
      param: { style: 'deepObject', explode: true },
      description:
        'Conditions, all of which must hold. `filter[<fieldId>]=v` (equals) or `filter[<fieldId>][<op>]=v` with op: ' +
        '`eq`, `ne`, `in` (comma-separated), `gt` `gte` `lt` `lte` (number, currency, date, datetime), `contains` and `prefix` ' +
        '(text, case- and accent-insensitive), `empty` (true|false). Lists (multi-select, checklist, assignee): `eq` = has the value, `in` = has any. ' +
        'Besides fields: `filter[phase]` (eq, ne, in; cards), `filter[finished]=true|false` (cards), `filter[title][prefix|eq|contains]`, ' +
        '`filter[createdAt][gte|gt|lte|lt]`, `filter[updatedAt][…]`. Unknown fields or operators are a 400 naming the parameter.',
      example: { fld_01JD0000000000000000000000: { gte: '10' } },
    }),
);

const SortParam = /* @__PURE__ */ once(() =>
  z
    .string()
    .max(64)
    .optional()
    .openapi({
      description:
        '`createdAt`, `updatedAt`, `title` or a field id (text, number, currency, date, datetime, single-select); a leading `-` sorts descending. ' +
        'createdAt, updatedAt and title read their index in order; a field value sort reads the whole filtered set and is answered for at most 1,000 items (400 query.tooBroad beyond).',
      example: '-updatedAt',
    }),
);

const UpdatedSinceParam = /* @__PURE__ */ once(() =>
  z
    .string()
    .max(64)
    .optional()
    .openapi({
      format: 'date-time',
      description:
        'Incremental sync: every card changed at or after this time, oldest change first, with `deleted` listing the items deleted since (tombstones are kept 30 days). ' +
        'Follow nextCursor to the end, then pass the returned nextUpdatedSince next time. Takes no filter or sort.',
    }),
);

const Page = /* @__PURE__ */ once(() => ({
  limit: z.coerce.number().int().min(1).max(100).optional().openapi({
    description: 'Page size, 1 to 100 (default 50). A filtered page may hold fewer items (each page reads at most 1,000); follow nextCursor until it is null.',
  }),
  cursor: z.string().max(4_096).optional().openapi({ description: 'nextCursor of the previous page, with the same query.' }),
}));

export const ListCardsQuery = /* @__PURE__ */ once(() =>
  z.strictObject({
    ...Page(),
    phaseId: Id('phase').optional().openapi({ description: 'Cards of one phase (the same as filter[phase]).' }),
    filter: FilterParam(),
    sort: SortParam(),
    updatedSince: UpdatedSinceParam(),
  }),
);

export const ListRecordsQuery = /* @__PURE__ */ once(() =>
  z.strictObject({ ...Page(), filter: FilterParam(), sort: SortParam(), updatedSince: UpdatedSinceParam() }),
);

const Deleted = /* @__PURE__ */ once(() =>
  z
    .object({
      id: z.string(),
      deletedAt: z.string().openapi({ format: 'date-time' }),
      version: z.number().int().openapi({ description: 'The version the item had when it was deleted.' }),
    })
    .openapi('DeletedItem'),
);

const listPage = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      items: z.array(item),
      nextCursor: z.string().nullable().openapi({ description: 'Pass as ?cursor= (with the same query) for the next page; null on the last page.' }),
      deleted: z.array(Deleted()).optional().openapi({ description: 'With updatedSince only: items deleted in the period covered by this page.' }),
      nextUpdatedSince: z
        .string()
        .optional()
        .openapi({ format: 'date-time', description: 'With updatedSince only, on the last page: the updatedSince of the next sync.' }),
    })
    .openapi(name);

export const CardListPage = /* @__PURE__ */ once(() => listPage(Card(), 'CardPage'));
export const RecordListPage = /* @__PURE__ */ once(() => listPage(DbRecord(), 'RecordPage'));
