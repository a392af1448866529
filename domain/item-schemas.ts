/**
 * Contract of the integrator routes on cards and records: batch writes and list queries
 * (filters, sort, incremental sync). Kept beside schemas.ts so the shared module stays small.
 */
import { LIMITS } from './fields';
import { Card, DbRecord, Id, Values, z } from './schemas';
import { MAX_BATCH_ITEMS } from './batch-limits';

const ItemTitle = z.string().trim().min(1).max(LIMITS.shortText);

const batchItem = (kind: 'card' | 'record') =>
  z.strictObject({
    id: Id(kind).optional().openapi({ description: `Present: update this ${kind} (values merged, null clears). Absent: create a new ${kind}.` }),
    title: ItemTitle.optional(),
    values: Values.optional(),
    expectedVersion: z.number().int().min(1).optional().openapi({ description: 'Updates only: the version the item must still be at (as If-Match does for one item); otherwise the whole batch answers 412.' }),
  });

const batchBody = (kind: 'card' | 'record', name: string) =>
  z
    .strictObject({
      items: z.array(batchItem(kind)).min(1).max(MAX_BATCH_ITEMS).openapi({ description: `1 to ${MAX_BATCH_ITEMS} ${kind}s to create or update, all-or-nothing.` }),
    })
    .openapi(name, {
      example: {
        items: [
          { values: { fld_01JD0000000000000000000000: 'Ada Lovelace' } },
          { id: `${kind === 'card' ? 'card' : 'rec'}_01JD0000000000000000000001`, values: { fld_01JD0000000000000000000000: 'Grace Hopper' }, expectedVersion: 3 },
        ],
      },
    });

export const BatchCards = batchBody('card', 'BatchCards');
export const BatchRecords = batchBody('record', 'BatchRecords');

export const BatchCardsResult = z
  .object({ items: z.array(Card).openapi({ description: 'The cards as written, in the order of the request.' }) })
  .openapi('BatchCardsResult');
export const BatchRecordsResult = z
  .object({ items: z.array(DbRecord).openapi({ description: 'The records as written, in the order of the request.' }) })
  .openapi('BatchRecordsResult');
