/**
 * Counts and times every request the handlers' DynamoDB client sends (an SDK middleware on the
 * module-scope client), and in metering mode also sizes what each request read and wrote, with
 * uncounted reads through a separate raw client before and after the call. Metering changes the
 * timing, so it runs on its own iteration; timed iterations only count and time.
 *
 * The middleware sits at the top of the `build` step: the input is already marshalled (lib-dynamodb
 * marshals in the serialize step) and the time covers signing, the HTTP round trip, retries and
 * deserialization — the DynamoDB call itself, without the handler around it.
 */
import { GetItemCommand, QueryCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  chargeWrite,
  itemSize,
  readUnits,
  totalOf,
  type IndexKeySchema,
  type RawItem,
  type ReadCharge,
  type RequestCharge,
  type WriteCharge,
} from './capacity';

export interface CallSample {
  command: string;
  ms: number;
  ok: boolean;
  detail: string;
  charge?: RequestCharge;
}

type AnyInput = Record<string, any>;

const stripSuffix = (name: string | undefined) => (name ?? 'Unknown').replace(/Command$/, '');

function describe(command: string, input: AnyInput): string {
  if (command === 'Query' || command === 'Scan') {
    return [
      input['IndexName'] ? `index ${input['IndexName']}` : 'table',
      input['ConsistentRead'] ? 'consistent' : 'eventual',
      input['Select'] === 'COUNT' ? 'COUNT' : '',
      input['ProjectionExpression'] ? 'projected' : '',
      input['FilterExpression'] ? 'filtered' : '',
      input['Limit'] ? `limit ${input['Limit']}` : '',
    ]
      .filter(Boolean)
      .join(', ');
  }
  if (command === 'TransactWriteItems') {
    const kinds = (input['TransactItems'] as AnyInput[]).map((t) => Object.keys(t)[0]);
    return kinds.join(' + ');
  }
  return '';
}

/** Names and values an expression refers to (unused ones make DynamoDB refuse a request). */
function referenced(expression: string | undefined, input: AnyInput) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const token of expression?.match(/#[A-Za-z0-9_]+/g) ?? []) {
    const v = input['ExpressionAttributeNames']?.[token];
    if (v !== undefined) names[token] = v;
  }
  for (const token of expression?.match(/:[A-Za-z0-9_]+/g) ?? []) {
    const v = input['ExpressionAttributeValues']?.[token];
    if (v !== undefined) values[token] = v;
  }
  return { names, values };
}

export class Meter {
  private samples: CallSample[] | null = null;
  private metering = false;

  constructor(
    private readonly raw: DynamoDBClient,
    private readonly table: string,
    private readonly keySchema: { partitionKey: string; sortKey: string },
    private readonly indexes: readonly IndexKeySchema[],
  ) {}

  /** Starts recording the requests that follow (metering: also size them). */
  start(metering: boolean) {
    this.samples = [];
    this.metering = metering;
  }

  stop(): CallSample[] {
    const samples = this.samples ?? [];
    this.samples = null;
    this.metering = false;
    return samples;
  }

  /** The SDK middleware: add it to the handlers' client with { step: 'build', priority: 'high' }. */
  readonly middleware = (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
    const samples = this.samples;
    if (!samples) return next(args);
    const command = stripSuffix(context.commandName);
    const input = (args.input ?? {}) as AnyInput;
    const metering = this.metering;
    const writes = metering ? this.writeTargets(command, input) : [];
    if (metering) for (const w of writes) w.before = await this.getItem(w.key);
    const started = process.hrtime.bigint();
    let result: any;
    let error: unknown;
    try {
      result = await next(args);
    } catch (e) {
      error = e;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const sample: CallSample = { command, ms, ok: error === undefined, detail: describe(command, input) };
    samples.push(sample);
    if (metering) sample.charge = await this.charge(command, input, writes, error);
    if (error !== undefined) throw error;
    return result;
  };

  private keyOf(item: AnyInput): RawItem {
    const { partitionKey, sortKey } = this.keySchema;
    return { [partitionKey]: item[partitionKey], [sortKey]: item[sortKey] } as RawItem;
  }

  private keyString(key: RawItem): string {
    return `${key[this.keySchema.partitionKey]?.S} | ${key[this.keySchema.sortKey]?.S}`;
  }

  private writeTargets(command: string, input: AnyInput) {
    type Target = { action: WriteCharge['action']; key: RawItem; transactional: boolean; before?: RawItem; after?: RawItem };
    const targets: Target[] = [];
    switch (command) {
      case 'PutItem':
        targets.push({ action: 'Put', key: this.keyOf(input['Item']), transactional: false });
        break;
      case 'UpdateItem':
        targets.push({ action: 'Update', key: input['Key'], transactional: false });
        break;
      case 'DeleteItem':
        targets.push({ action: 'Delete', key: input['Key'], transactional: false });
        break;
      case 'TransactWriteItems':
        for (const t of input['TransactItems'] as AnyInput[]) {
          if (t['Put']) targets.push({ action: 'Put', key: this.keyOf(t['Put']['Item']), transactional: true });
          if (t['Update']) targets.push({ action: 'Update', key: t['Update']['Key'], transactional: true });
          if (t['Delete']) targets.push({ action: 'Delete', key: t['Delete']['Key'], transactional: true });
          if (t['ConditionCheck']) targets.push({ action: 'ConditionCheck', key: t['ConditionCheck']['Key'], transactional: true });
        }
        break;
      case 'BatchWriteItem':
        for (const requests of Object.values(input['RequestItems'] ?? {}) as AnyInput[][]) {
          for (const r of requests) {
            if (r['PutRequest']) targets.push({ action: 'Put', key: this.keyOf(r['PutRequest']['Item']), transactional: false });
            if (r['DeleteRequest']) targets.push({ action: 'Delete', key: r['DeleteRequest']['Key'], transactional: false });
          }
        }
        break;
    }
    return targets;
  }

  private async getItem(key: RawItem): Promise<RawItem | undefined> {
    const out = await this.raw.send(new GetItemCommand({ TableName: this.table, Key: key as any, ConsistentRead: true }));
    return out.Item as RawItem | undefined;
  }

  /** Re-reads what a Query or Scan read: same key condition, page and limit; no filter, projection or COUNT. */
  private async replay(command: 'Query' | 'Scan', input: AnyInput): Promise<RawItem[]> {
    const key = referenced(input['KeyConditionExpression'], input);
    const replay: AnyInput = {
      TableName: input['TableName'],
      ...(input['IndexName'] ? { IndexName: input['IndexName'] } : {}),
      ...(input['KeyConditionExpression'] ? { KeyConditionExpression: input['KeyConditionExpression'] } : {}),
      ...(Object.keys(key.names).length ? { ExpressionAttributeNames: key.names } : {}),
      ...(Object.keys(key.values).length ? { ExpressionAttributeValues: key.values } : {}),
      ...(input['Limit'] !== undefined ? { Limit: input['Limit'] } : {}),
      ...(input['ExclusiveStartKey'] ? { ExclusiveStartKey: input['ExclusiveStartKey'] } : {}),
      ...(input['ScanIndexForward'] !== undefined ? { ScanIndexForward: input['ScanIndexForward'] } : {}),
      ...(input['ConsistentRead'] ? { ConsistentRead: true } : {}),
    };
    const out = await this.raw.send(command === 'Query' ? new QueryCommand(replay as any) : new ScanCommand(replay as any));
    return (out.Items ?? []) as RawItem[];
  }

  private async charge(
    command: string,
    input: AnyInput,
    writes: Array<{ action: WriteCharge['action']; key: RawItem; transactional: boolean; before?: RawItem }>,
    error: unknown,
  ): Promise<RequestCharge> {
    const reads: ReadCharge[] = [];
    const written: WriteCharge[] = [];
    for (const w of writes) {
      // A refused write changes nothing but is still charged for the item it looked at.
      const after = w.action === 'ConditionCheck' ? undefined : error === undefined ? await this.getItem(w.key) : w.before;
      written.push(chargeWrite(w.action, this.keyString(w.key), w.before, after, w.transactional, this.indexes));
    }
    if (command === 'GetItem') {
      const item = await this.getItem(input['Key']);
      const bytes = itemSize(item);
      const consistent = !!input['ConsistentRead'];
      reads.push({ what: this.keyString(input['Key']), bytes, items: item ? 1 : 0, consistent, transactional: false, rcu: readUnits(bytes, { consistent }) });
    }
    if (command === 'BatchGetItem' || command === 'TransactGetItems') {
      const transactional = command === 'TransactGetItems';
      const gets: Array<{ key: RawItem; consistent: boolean }> =
        command === 'BatchGetItem'
          ? (Object.values(input['RequestItems'] ?? {}) as AnyInput[]).flatMap((t) =>
              (t['Keys'] as RawItem[]).map((key) => ({ key, consistent: !!t['ConsistentRead'] })),
            )
          : (input['TransactItems'] as AnyInput[]).map((t) => ({ key: t['Get']['Key'], consistent: true }));
      for (const g of gets) {
        const item = await this.getItem(g.key);
        const bytes = itemSize(item);
        reads.push({
          what: this.keyString(g.key),
          bytes,
          items: item ? 1 : 0,
          consistent: g.consistent,
          transactional,
          rcu: readUnits(bytes, { consistent: g.consistent, transactional }),
        });
      }
    }
    if (command === 'Query' || command === 'Scan') {
      const items = await this.replay(command, input);
      const bytes = items.reduce((s, i) => s + itemSize(i), 0);
      const consistent = !!input['ConsistentRead'];
      const reduced = [input['Select'] === 'COUNT' && 'COUNT', input['ProjectionExpression'] && 'projection', input['FilterExpression'] && 'filter'].filter(
        Boolean,
      );
      reads.push({
        what: `${input['IndexName'] ?? 'table'} ${JSON.stringify(Object.values(referenced(input['KeyConditionExpression'], input).values).map((v: any) => v.S ?? v.N))}`,
        bytes,
        items: items.length,
        consistent,
        transactional: false,
        rcu: readUnits(bytes, { consistent }),
        ...(reduced.length ? { note: `items read sized by a replay without ${reduced.join('/')}` } : {}),
      });
    }
    const total = totalOf(reads, written);
    return { command, ...total, reads, writes: written, ...(error !== undefined ? { failed: (error as Error).name } : {}) };
  }
}
