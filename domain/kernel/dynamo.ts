/** Small wrappers over lib-dynamodb that every repository uses: paging, transactions, batches. */
import {
  BatchWriteCommand,
  DeleteCommand,
  PutCommand,
  UpdateCommand,
  type UpdateCommandInput,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';

export type Item = Record<string, unknown>;
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Codes of the items of a cancelled transaction, in order ('None' for those that passed). */
export class TransactionCancelled extends Error {
  constructor(readonly codes: string[]) {
    super(`Transaction cancelled: ${codes.join(', ')}`);
  }
  failed(index: number): boolean {
    return this.codes[index] === 'ConditionalCheckFailed';
  }
}

export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/**
 * The transaction item that takes one slot of an organization's bounded count (webhooks, API
 * tokens): it fails its condition when `max` are taken, so the write it goes with is refused whole.
 */
export function takeCountSlot(table: string, key: Item, entity: string, orgId: string, max: number): TransactItem {
  return {
    Update: {
      TableName: table,
      Key: key,
      UpdateExpression: 'SET entity = :entity, orgId = :org ADD #count :one',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':entity': entity, ':org': orgId, ':one': 1, ':max': max },
    },
  };
}

/** The transaction item that gives a slot of a bounded count back. */
export function returnCountSlot(table: string, key: Item): TransactItem {
  return {
    Update: {
      TableName: table,
      Key: key,
      UpdateExpression: 'ADD #count :minus',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':minus': -1 },
    },
  };
}

const CONFLICT_ATTEMPTS = 10;

/**
 * Runs a transaction. A cancellation caused only by a conflicting concurrent transaction wrote
 * nothing and is retried with jittered backoff (the SDK does not retry it); a failed condition is
 * reported as TransactionCancelled with the reason of each item.
 */
export async function transactWrite(doc: DynamoDBDocumentClient, items: TransactItem[]): Promise<void> {
  if (items.length === 1 && !items[0]!.ConditionCheck) return singleWrite(doc, items[0]!);
  for (let attempt = 1; ; attempt++) {
    try {
      await doc.send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (error) {
      const e = error as { name?: string; CancellationReasons?: Array<{ Code?: string }> };
      if (e.name !== 'TransactionCanceledException' || !e.CancellationReasons) throw error;
      const codes = e.CancellationReasons.map((r) => r.Code ?? 'None');
      const conflictOnly = codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed');
      if (!conflictOnly) throw new TransactionCancelled(codes);
      // Still contended after every attempt: the caller answers 409 and the client may retry.
      if (attempt >= CONFLICT_ATTEMPTS) throw new TransactionCancelled(codes);
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 10 * 2 ** attempt)));
    }
  }
}

/**
 * One write needs no transaction, which would cost twice the write units: it runs as the plain
 * conditional Put, Update or Delete, and fails the same way a one-item transaction would.
 */
async function singleWrite(doc: DynamoDBDocumentClient, item: TransactItem): Promise<void> {
  try {
    if (item.Put) await doc.send(new PutCommand(item.Put));
    else if (item.Update) await doc.send(new UpdateCommand(item.Update as UpdateCommandInput));
    else if (item.Delete) await doc.send(new DeleteCommand(item.Delete));
  } catch (error) {
    if (isConditionFailure(error)) throw new TransactionCancelled(['ConditionalCheckFailed']);
    throw error;
  }
}

/** Reads every item of a query (for small, bounded partitions such as a pipe definition). */
export async function queryAll(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey as Item | undefined;
  } while (startKey);
  return items;
}

export async function queryPage(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<{ items: Item[]; lastKey?: Item }> {
  const page = await doc.send(new QueryCommand(input));
  return { items: (page.Items ?? []) as Item[], lastKey: page.LastEvaluatedKey as Item | undefined };
}

export async function countQuery(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<number> {
  let count = 0;
  let startKey: Item | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, Select: 'COUNT', ExclusiveStartKey: startKey }));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey as Item | undefined;
  } while (startKey);
  return count;
}

/** Deletes keys in batches of 25, retrying what DynamoDB leaves unprocessed. */
export async function batchDelete(doc: DynamoDBDocumentClient, table: string, keyList: Item[]): Promise<void> {
  for (let i = 0; i < keyList.length; i += 25) {
    let requests: Array<{ DeleteRequest: { Key: Item } }> = keyList.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 8) throw new Error('BatchWrite left items unprocessed after 8 attempts');
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const result = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (result.UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  }
}

/** Builds `SET #a = :a, …` parts for a map of attribute names to values. */
export function setClauses(values: Record<string, unknown>, prefix = 'a') {
  const names: Record<string, string> = {};
  const vals: Record<string, unknown> = {};
  const set: string[] = [];
  const remove: string[] = [];
  Object.entries(values).forEach(([name, value], i) => {
    names[`#${prefix}${i}`] = name;
    if (value === undefined || value === null) {
      remove.push(`#${prefix}${i}`);
    } else {
      vals[`:${prefix}${i}`] = value;
      set.push(`#${prefix}${i} = :${prefix}${i}`);
    }
  });
  return { names, values: vals, set, remove };
}
