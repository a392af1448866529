/**
 * The GSI3 backfill (npm run backfill:gsi3) against DynamoDB Local, on a table of its own: cards
 * and records written without GSI3PK (as before GSI3 existed) get the key of their pipe's or
 * database's change log; a run stopped after some pages continues from its saved state; a second
 * run writes nothing; nothing else is touched.
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillGsi3, type BackfillState } from '../../domain/items/backfill-gsi3';
import { documentClient as doc } from '../../domain/kernel/client';
import { ENTITY, gsi3, keys } from '../../domain/kernel/keys';
import { ensureTable } from '../../infra/local/dynamodb-local';

const table = `cardflow-backfill-${randomUUID().slice(0, 8)}`;
const orgId = 'org_backfill';
const pipeId = 'pipe_01JD0000000000000000000001';
const databaseId = 'db_01JD0000000000000000000001';
const CARDS = 37;
const RECORDS = 23;

const cardId = (i: number) => `card_01JD00000000000000000${String(i).padStart(5, '0')}`;
const recordId = (i: number) => `rec_01JD00000000000000000${String(i).padStart(5, '0')}`;
const at = (i: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString();

async function changeLog(partition: string): Promise<string[]> {
  const res = await doc.send(
    new QueryCommand({ TableName: table, IndexName: 'GSI3', KeyConditionExpression: 'GSI3PK = :pk', ExpressionAttributeValues: { ':pk': partition } }),
  );
  return (res.Items ?? []).map((i) => i['id'] as string);
}

beforeAll(async () => {
  await ensureTable(process.env['AWS_ENDPOINT_URL_DYNAMODB']!, table);
  const puts: Array<Record<string, unknown>> = [];
  // Old cards and records: every attribute but GSI3PK.
  for (let i = 0; i < CARDS; i++) {
    puts.push({
      ...keys.card(orgId, cardId(i)),
      entity: ENTITY.card,
      orgId,
      id: cardId(i),
      pipeId,
      phaseId: 'ph_1',
      title: `Card ${i}`,
      values: {},
      version: 3,
      updatedAt: at(i),
    });
  }
  for (let i = 0; i < RECORDS; i++) {
    puts.push({
      ...keys.record(orgId, recordId(i)),
      entity: ENTITY.record,
      orgId,
      id: recordId(i),
      databaseId,
      title: `Record ${i}`,
      values: {},
      version: 1,
      updatedAt: at(100 + i),
    });
  }
  // A card written after GSI3 existed, and items that are no card or record: left as they are.
  puts.push({
    ...keys.card(orgId, cardId(999)),
    entity: ENTITY.card,
    orgId,
    id: cardId(999),
    pipeId,
    title: 'New',
    values: {},
    version: 1,
    updatedAt: at(999),
    GSI3PK: gsi3.changesOfPipe(orgId, pipeId),
  });
  puts.push({ ...keys.pipe(orgId, pipeId), entity: ENTITY.pipe, orgId, id: pipeId, name: 'Old pipe', updatedAt: at(0) });
  puts.push({ ...keys.childCount(keys.card(orgId, cardId(0)).PK, 'conn_1'), entity: ENTITY.childCount, orgId, count: 1 });
  for (const Item of puts) await doc.send(new PutCommand({ TableName: table, Item }));
}, 60_000);

afterAll(async () => {
  await new DynamoDBClient({}).send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
});

describe('GSI3 backfill', () => {
  it('stops after some pages and continues from the saved state; a second run writes nothing', async () => {
    expect(await changeLog(gsi3.changesOfPipe(orgId, pipeId))).toEqual([cardId(999)]);

    const saves: BackfillState[] = [];
    const first = await backfillGsi3(doc, table, { segments: 2, pageSize: 10, maxPages: 3, onPage: (s) => void saves.push(structuredClone(s)) });
    expect(first.complete).toBe(false);
    expect(saves).toHaveLength(3);
    expect(first.updated).toBeGreaterThan(0);
    expect(first.updated).toBeLessThan(CARDS + RECORDS);

    // A new process, from what was saved (as the CLI reads its state file).
    const saved = JSON.parse(JSON.stringify(saves.at(-1))) as BackfillState;
    const rest = await backfillGsi3(doc, table, { state: saved, pageSize: 10 });
    expect(rest.complete).toBe(true);
    expect(rest.updated).toBe(CARDS + RECORDS);

    // The change logs hold every item, in updatedAt order, as sort=updatedAt and updatedSince read them.
    expect(await changeLog(gsi3.changesOfPipe(orgId, pipeId))).toEqual([...Array.from({ length: CARDS }, (_, i) => cardId(i)), cardId(999)]);
    expect(await changeLog(gsi3.changesOfDatabase(orgId, databaseId))).toEqual(Array.from({ length: RECORDS }, (_, i) => recordId(i)));

    // Idempotent: a full second run finds nothing to do.
    const again = await backfillGsi3(doc, table, { segments: 3, pageSize: 7 });
    expect(again).toMatchObject({ complete: true, updated: 0 });
    expect(again.scanned).toBe(CARDS + RECORDS + 3);

    // Only the key was added: values, version and updatedAt are as they were; other entities untouched.
    const card = (await doc.send(new GetCommand({ TableName: table, Key: keys.card(orgId, cardId(5)) }))).Item!;
    expect(card).toMatchObject({ version: 3, updatedAt: at(5), title: 'Card 5', GSI3PK: gsi3.changesOfPipe(orgId, pipeId) });
    const pipe = (await doc.send(new GetCommand({ TableName: table, Key: keys.pipe(orgId, pipeId) }))).Item!;
    expect(pipe['GSI3PK']).toBeUndefined();
  });

  it('refuses a state saved for another table', async () => {
    await expect(backfillGsi3(doc, table, { state: { table: 'other', segments: [{ done: false }], scanned: 0, updated: 0, skipped: 0 } })).rejects.toThrow(
      /other/,
    );
  });
});
