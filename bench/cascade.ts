/**
 * Cascade deletes in `npm run bench`: a parent card with N children (500 by default) through a
 * `cascade` connection is deleted through the API; the delete answers 202 with a job, and the
 * stream processor (functions/streams/processor.ts, fed by a StreamPoller of its own) runs the
 * job to the end.
 *
 * Per run: the time to the 202, the time until the job reads `succeeded` (polled through the
 * API every 50 ms), the stream steps, and every DynamoDB request made from the DELETE until the
 * job is done (API and stream alike, counted by an SDK middleware on the handlers' client), with
 * the write units they cost by DynamoDB's sizing rules (bench/capacity.ts: transactions double).
 * Baseline in the same run: a plain sequential loop of DeleteItem over N cards of the same shape
 * (no edges, no conditions, no job); the ratio is the job's completion time ÷ the loop's time.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mapLimit } from '../domain/connections/cascade';
import { documentClient, dynamoClient } from '../domain/kernel/client';
import { checkGraph } from '../domain/connections/invariants';
import { keys, orgPrefix } from '../domain/kernel/keys';
import { createStreamHandler } from '../functions/streams/processor';
import { StreamPoller } from '../infra/local/stream-poller';
import { itemSize, writeUnits, type RawItem } from './capacity';
import type { Api } from './scenarios';

export interface CascadeBenchOptions {
  orgPrefix: string;
  apiFor: (orgId: string) => Promise<Api>;
  endpoint: string;
  tableName: string;
  children: number;
  runs: number;
  log?: (line: string) => void;
}

export interface CascadeRun {
  toAcceptedMs: number;
  toDoneMs: number;
  steps: number;
  requests: Record<string, number>;
  wcu: number;
  baselineMs: number;
  violations: number;
}

export interface CascadeBenchResult {
  children: number;
  runs: CascadeRun[];
  median: { toAcceptedMs: number; toDoneMs: number; baselineMs: number; ratio: number; requestsPerChild: number; wcuPerChild: number };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)]! + s[Math.ceil(mid)]!) / 2;
};

// Every request of the handlers' client while `counting` is set: the DELETE's and the job's.
let counting: { requests: Record<string, number>; wcu: number } | undefined;
let installed = false;
function installCounter() {
  if (installed) return;
  installed = true;
  const middleware = (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
    const counter = counting;
    if (counter) {
      const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      counter.requests[command] = (counter.requests[command] ?? 0) + 1;
      counter.wcu += writeCost(command, args.input);
    }
    return next(args);
  };
  dynamoClient.middlewareStack.add(middleware as never, { step: 'serialize', priority: 'low', name: 'benchCascadeCounter' });
}

/** Write units of a request by the sizing rules; deletes and updates of these small items are one unit each. */
function writeCost(command: string, input: any): number {
  const one = (action: any, transactional: boolean) => writeUnits(action?.Put ? itemSize(action.Put.Item as RawItem) : 1, { transactional });
  if (command === 'TransactWriteItems') return (input.TransactItems ?? []).reduce((sum: number, a: any) => sum + one(a, true), 0);
  if (command === 'PutItem') return one({ Put: input }, false);
  if (command === 'UpdateItem' || command === 'DeleteItem') return 1;
  if (command === 'BatchWriteItem') return Object.values(input.RequestItems ?? {}).flat().length;
  return 0;
}

export async function runCascadeBench(options: CascadeBenchOptions): Promise<CascadeBenchResult> {
  const log = options.log ?? (() => undefined);
  installCounter();
  const inner = createStreamHandler();
  let current = '';
  let steps = 0;
  // Only the running organization's records: the request scenarios' backlog is not measured.
  const handler = async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const mine = event.Records.filter((r) => String(r.dynamodb?.Keys?.['PK']?.S ?? '').startsWith(current));
    if (!mine.length || !current) return { batchItemFailures: [] };
    steps += mine.filter((r) => r.dynamodb?.NewImage?.['entity']?.S === 'CascadeJob').length;
    return inner({ Records: mine }, context);
  };
  const poller = new StreamPoller({ endpoint: options.endpoint, tableName: options.tableName, handler, idleMs: 20 });
  await poller.start();
  const runs: CascadeRun[] = [];
  try {
    for (let run = 0; run < options.runs; run++) {
      const orgId = `${options.orgPrefix}-${run}`;
      const api = await options.apiFor(orgId);
      current = orgPrefix(orgId);
      const parents = (await api('createPipe', { body: { name: 'Parents' } })).body;
      const kids = (await api('createPipe', { body: { name: 'Kids' } })).body;
      const connection = (
        await api('createConnection', {
          body: {
            name: 'Kids',
            parent: { type: 'pipe', id: parents.id },
            child: { type: 'pipe', id: kids.id },
            entries: 'multiple',
            onParentDelete: 'cascade',
          },
        })
      ).body;
      const parent = (await api('createCard', { params: { pipeId: parents.id }, body: { title: 'parent' } })).body;
      const started = Date.now();
      await mapLimit(
        Array.from({ length: options.children }, (_, i) => i),
        4,
        async (i) => {
          const r = await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: { title: `kid ${i}` } } });
          if (r.status !== 201) throw new Error(`creating child ${i}: ${r.status} ${JSON.stringify(r.body)}`);
        },
      );
      await poller.drain();
      log(`cascade run ${run + 1}/${options.runs}: ${options.children} children in ${((Date.now() - started) / 1000).toFixed(0)} s`);

      steps = 0;
      counting = { requests: {}, wcu: 0 };
      const t0 = performance.now();
      const accepted = await api('deleteCard', { params: { cardId: parent.id } });
      const toAcceptedMs = performance.now() - t0;
      if (accepted.status !== 202) throw new Error(`DELETE answered ${accepted.status}: ${JSON.stringify(accepted.body)}`);
      const counted = counting;
      // Polling reads are not the job's: counted separately and taken out.
      for (;;) {
        counting = undefined;
        const job = (await api('getJob', { params: { jobId: accepted.body.id } })).body;
        counting = counted;
        if (job.status === 'succeeded') break;
        if (job.status !== 'running') throw new Error(`job ended ${job.status}: ${JSON.stringify(job.error)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const toDoneMs = performance.now() - t0;
      counting = undefined;
      await poller.drain();
      const graph = await checkGraph(documentClient, options.tableName, orgId);

      // Baseline: the same number of plain cards, deleted one DeleteItem at a time.
      const ids = Array.from({ length: options.children }, () => `card_BENCH${randomUUID().replaceAll('-', '').slice(0, 22).toUpperCase()}`);
      for (let i = 0; i < ids.length; i += 25) {
        await documentClient.send(
          new BatchWriteCommand({
            RequestItems: {
              [options.tableName]: ids
                .slice(i, i + 25)
                .map((id) => ({ PutRequest: { Item: { ...keys.card(`${orgId}-base`, id), entity: 'BenchCard', id, title: 'kid', values: {}, version: 1 } } })),
            },
          }),
        );
      }
      const b0 = performance.now();
      for (const id of ids) await documentClient.send(new DeleteCommand({ TableName: options.tableName, Key: keys.card(`${orgId}-base`, id) }));
      const baselineMs = performance.now() - b0;
      runs.push({
        toAcceptedMs,
        toDoneMs,
        steps,
        requests: counted.requests,
        wcu: counted.wcu,
        baselineMs,
        violations: graph.violations.length + graph.inProgress.length,
      });
      log(`cascade run ${run + 1}: 202 in ${toAcceptedMs.toFixed(0)} ms, done in ${toDoneMs.toFixed(0)} ms, baseline ${baselineMs.toFixed(0)} ms`);
    }
  } finally {
    counting = undefined;
    await poller.stop();
  }
  const n = options.children + 1;
  const requests = (r: CascadeRun) => Object.values(r.requests).reduce((a, b) => a + b, 0);
  return {
    children: options.children,
    runs,
    median: {
      toAcceptedMs: median(runs.map((r) => r.toAcceptedMs)),
      toDoneMs: median(runs.map((r) => r.toDoneMs)),
      baselineMs: median(runs.map((r) => r.baselineMs)),
      ratio: median(runs.map((r) => r.toDoneMs / r.baselineMs)),
      requestsPerChild: median(runs.map((r) => requests(r) / n)),
      wcuPerChild: median(runs.map((r) => r.wcu / n)),
    },
  };
}

export function cascadeMarkdown(result: CascadeBenchResult, abbreviations: Record<string, string>): string[] {
  const m = result.median;
  const out = [
    `### Cascade delete: a parent with ${result.children} children (\`onParentDelete: cascade\`) → 202 and a job`,
    '',
    `Medians of ${result.runs.length} run(s). Requests and WCU cover the DELETE and the whole job (API and stream), per deleted item (${result.children + 1}); WCU by DynamoDB's sizing rules (transactions double). Baseline: a sequential DeleteItem loop over ${result.children} plain cards in the same run.`,
    '',
    '| children | time to 202 | time to done | baseline loop | × baseline | stream steps | requests / item | WCU / item | requests (last run) | graph |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|---|---|',
  ];
  const last = result.runs.at(-1)!;
  const mix = Object.entries(last.requests)
    .map(([k, v]) => `${abbreviations[k] ?? k} ${v}`)
    .join(', ');
  out.push(
    `| ${result.children} | ${m.toAcceptedMs.toFixed(0)} ms | ${m.toDoneMs.toFixed(0)} ms | ${m.baselineMs.toFixed(0)} ms | ${m.ratio.toFixed(2)} | ${last.steps} | ${m.requestsPerChild.toFixed(2)} | ${m.wcuPerChild.toFixed(2)} | ${mix} | ${result.runs.every((r) => r.violations === 0) ? 'clean' : 'VIOLATIONS'} |`,
  );
  return out;
}
