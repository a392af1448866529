/**
 * Activity in `npm run bench`: what the activity and audit trail add to each operation, and what
 * reading a page of it costs.
 *
 * Each operation runs through the API; the stream processor (fed by a local StreamPoller) then
 * writes the entries. An SDK middleware on the handlers' client sees every PutItem of an
 * Activity or Audit item (marshalled, in the build step) and charges it by DynamoDB's sizing
 * rules (bench/capacity.ts): the added requests and WCU per operation, medians over the runs.
 * The operation's own capacity is in the request rows above (the same operations, metered).
 *
 * Reading: one page of 50 entries of a card with 60 entries, GET /v1/cards/{id}/activity; its
 * Query reads the page's items (eventually consistent): RCU = ⌈bytes / 4 KB⌉ × 0.5.
 */
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { dynamoClient } from '../domain/kernel/client';
import { orgPrefix } from '../domain/kernel/keys';
import { createStreamHandler } from '../functions/streams/processor';
import { StreamPoller } from '../infra/local/stream-poller';
import { itemSize, readUnits, writeUnits, type RawItem } from './capacity';
import type { Api } from './scenarios';

export interface ActivityRow {
  operation: string;
  /** One PutItem each. */
  entries: number;
  wcu: number;
  entryBytes: number;
}

export interface ActivityBenchResult {
  runs: number;
  rows: ActivityRow[];
  /** One Query. */
  page: { entries: number; bytes: number; rcu: number };
}

interface Written {
  puts: number;
  wcu: number;
  bytes: number;
}

let counting: Written | undefined;
let installed = false;

function installCounter() {
  if (installed) return;
  installed = true;
  dynamoClient.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Item?: RawItem };
      const entity = input.Item?.['entity'] as { S?: string } | undefined;
      if (counting && context.commandName === 'PutItemCommand' && (entity?.S === 'Activity' || entity?.S === 'Audit')) {
        const bytes = itemSize(input.Item);
        counting.puts += 1;
        counting.bytes += bytes;
        counting.wcu += writeUnits(bytes);
      }
      return next(args);
    },
    { step: 'build', priority: 'high', name: 'benchActivityCounter' },
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
};

export async function runActivityBench(options: {
  orgId: string;
  api: Api;
  endpoint: string;
  tableName: string;
  runs?: number;
  log?: (line: string) => void;
}): Promise<ActivityBenchResult> {
  const runs = options.runs ?? 5;
  installCounter();
  const inner = createStreamHandler();
  const mine = orgPrefix(options.orgId);
  // Only this organization's records: earlier scenarios' backlog is not measured.
  const handler = async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const records = event.Records.filter((r) => String(r.dynamodb?.Keys?.['PK']?.S ?? '').startsWith(mine));
    return records.length ? inner({ Records: records }, context) : { batchItemFailures: [] };
  };
  const poller = new StreamPoller({ endpoint: options.endpoint, tableName: options.tableName, handler, idleMs: 20 });
  await poller.start();
  const api = options.api;
  const samples = new Map<string, Written[]>();
  const measured = async (operation: string, work: () => Promise<unknown>) => {
    await poller.drain();
    counting = { puts: 0, wcu: 0, bytes: 0 };
    await work();
    await poller.drain();
    samples.set(operation, [...(samples.get(operation) ?? []), counting]);
    counting = undefined;
  };
  try {
    const fields = [
      { label: 'Name', type: 'short_text', isTitle: true },
      { label: 'Notes', type: 'long_text' },
      { label: 'Amount', type: 'number' },
    ];
    const parents = (await api('createPipe', { body: { name: 'Accounts', startFormFields: fields } })).body;
    const kids = (await api('createPipe', { body: { name: 'Contacts', startFormFields: fields } })).body;
    const [name, notes, amount] = parents.startForm.fields.map((f: { id: string }) => f.id);
    const connection = (
      await api('createConnection', {
        body: { name: 'contacts', parent: { type: 'pipe', id: parents.id }, child: { type: 'pipe', id: kids.id }, entries: 'multiple' },
      })
    ).body;
    for (let run = 0; run < runs; run++) {
      let card: { id: string } | undefined;
      await measured('createCard', async () => {
        card = (await api('createCard', { params: { pipeId: parents.id }, body: { values: { [name]: `Acme ${run}`, [amount]: run } } })).body;
      });
      await measured('updateCard (one number field)', () => api('updateCard', { params: { cardId: card!.id }, body: { values: { [amount]: run + 100 } } }));
      await measured('updateCard (a 5 KB long text)', () =>
        api('updateCard', { params: { cardId: card!.id }, body: { values: { [notes]: 'n'.repeat(5_000) } } }),
      );
      await measured('moveCard', () => api('moveCard', { params: { cardId: card!.id }, body: { phaseId: parents.phases[1].id } }));
      const child = (await api('createCard', { params: { pipeId: kids.id }, body: { values: { [kids.startForm.fields[0].id]: `kid ${run}` } } })).body;
      await measured('connect an existing child', () =>
        api('addCardChild', { params: { cardId: card!.id }, body: { connectionId: connection.id, childId: child.id } }),
      );
      await measured('updatePipe (rename)', () => api('updatePipe', { params: { pipeId: parents.id }, body: { name: `Accounts ${run}` } }));
      await measured('deleteCard (a child with one parent: 2 edges go)', () => api('deleteCard', { params: { cardId: child.id } }));
    }
    // One card with 60 entries; read its first page of 50.
    const busy = (await api('createCard', { params: { pipeId: parents.id }, body: { values: { [name]: 'Busy' } } })).body;
    for (let i = 0; i < 59; i++) await api('updateCard', { params: { cardId: busy.id }, body: { values: { [amount]: i } } });
    await poller.drain();
    const page = (await api('cardActivity', { params: { cardId: busy.id }, query: { limit: '50' } })).body as { items: unknown[] };
    // Size the page as stored: read the same 50 items raw.
    const { QueryCommand } = await import('@aws-sdk/client-dynamodb');
    const raw = await dynamoClient.send(
      new QueryCommand({
        TableName: options.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': { S: `${mine}ACT#${busy.id}` } },
        ScanIndexForward: false,
        Limit: 50,
      }),
    );
    const pageBytes = (raw.Items ?? []).reduce((sum, item) => sum + itemSize(item as RawItem), 0);
    const rows = [...samples.entries()].map(([operation, xs]) => ({
      operation,
      entries: median(xs.map((x) => x.puts)),
      wcu: median(xs.map((x) => x.wcu)),
      entryBytes: median(xs.map((x) => (x.puts ? Math.round(x.bytes / x.puts) : 0))),
    }));
    options.log?.(`activity: ${rows.length} operations × ${runs} runs measured`);
    return { runs, rows, page: { entries: page.items.length, bytes: pageBytes, rcu: readUnits(pageBytes, { consistent: false }) } };
  } finally {
    await poller.stop();
  }
}

export function activityMarkdown(result: ActivityBenchResult): string[] {
  return [
    '### Activity and audit: added writes per operation, and a page read',
    '',
    `Medians over ${result.runs} runs; written by the stream processor after the operation (one PutItem per entry, WCU by item size).`,
    '',
    '| operation | entries | added requests | added WCU | bytes per entry |',
    '|---|---|---|---|---|',
    ...result.rows.map((r) => `| ${r.operation} | ${r.entries} | ${r.entries} Put | ${r.wcu} | ${r.entryBytes} |`),
    '',
    `Reading one page of activity (GET /v1/cards/{id}/activity, limit 50): 1 Query, ${result.page.entries} entries, ${result.page.bytes} bytes, ${result.page.rcu} RCU (eventually consistent).`,
  ];
}
