/**
 * Noisy neighbour in `npm run bench` (issue 8, bench c): does one organization's slow webhook
 * receiver hurt another organization's propagation?
 *
 * Org X: a parent card whose Tier is synced to N children (10 by default), and a webhook on
 * `card.updated` whose receiver answers at once. Each sample edits the parent's Tier through the
 * API and waits until every child shows the new value (BatchGetItem every 5 ms, on a client of
 * its own): propagation lag = the moment all children were seen updated − the parent's
 * `updatedAt`. X's delivery lag (its receiver's arrival − the parent's `updatedAt`) is recorded too.
 *
 * Org W: a webhook on `card.created` whose receiver answers after 10 s (past the delivery timeout,
 * so every attempt fails and is retried with backoff), and 20 cards created at the start of the
 * noisy phase, while X's samples run.
 *
 * Phases, in one run and one process: warm-up (discarded), quiet (X alone), noisy (X while W's
 * deliveries hang). Both organizations' records go through one stream processor (a StreamPoller of
 * this bench, fed only these two organizations' records), W's and X's deliveries through the
 * runtime's delivery queue and its consumer (infra/local/local-queue.ts, the same handler as in
 * Lambda). Target: X's propagation p99 with the neighbour ≤ 1.5 × without.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { keys, orgPrefix } from '../domain/kernel/keys';
import { createStreamHandler } from '../functions/streams/processor';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../infra/local/dynamodb-local';
import type { LocalQueue } from '../infra/local/local-queue';
import { StreamPoller } from '../infra/local/stream-poller';
import type { Api } from './scenarios';

export interface NoisyOptions {
  orgPrefix: string;
  apiFor: (orgId: string) => Promise<Api>;
  endpoint: string;
  tableName: string;
  /** The runtime's delivery queue (its consumer makes the attempts). */
  deliveryQueue: LocalQueue;
  /** Samples per phase. */
  edits: number;
  children: number;
  /** How long W's receiver takes to answer. */
  slowReceiverMs: number;
  noisyCards: number;
  log?: (line: string) => void;
}

export interface PhaseStats {
  samples: number;
  lagMs: number[];
  deliveryLagMs: number[];
  p50: number;
  p99: number;
  deliveryP50: number;
  deliveryP99: number;
}

export interface NoisyResult {
  children: number;
  edits: number;
  slowReceiverMs: number;
  noisyCards: number;
  deliveryTimeoutMs: number;
  quiet: PhaseStats;
  noisy: PhaseStats;
  /** noisy p99 ÷ quiet p99. */
  ratio: number;
  /** W's receiver: requests that arrived during the noisy phase, and the most held open at once. */
  neighbour: { requests: number; maxHeld: number; pendingAtEnd: number; invocations: number };
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Receiver {
  url: string;
  requests: number;
  held: number;
  maxHeld: number;
  onBody?: (body: string, at: number) => void;
  close(): Promise<void>;
}

async function receiver(answerAfterMs: number): Promise<Receiver> {
  const state = { requests: 0, held: 0, maxHeld: 0 } as Receiver;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const at = Date.now();
      state.requests++;
      state.held++;
      state.maxHeld = Math.max(state.maxHeld, state.held);
      state.onBody?.(body, at);
      const answer = () => {
        state.held--;
        if (!res.destroyed) res.writeHead(200).end('ok');
      };
      if (answerAfterMs > 0) setTimeout(answer, answerAfterMs).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

export async function runNoisy(options: NoisyOptions): Promise<NoisyResult> {
  const log = options.log ?? (() => undefined);
  const { tableName } = options;
  const xOrg = `${options.orgPrefix}-x`;
  const wOrg = `${options.orgPrefix}-w`;
  const x = await options.apiFor(xOrg);
  const w = await options.apiFor(wOrg);
  const raw = new DynamoDBClient({ endpoint: options.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const doc = DynamoDBDocumentClient.from(raw);

  // --- the stream: one processor for both organizations (and nobody else's backlog)
  const inner = createStreamHandler();
  const prefixes = [orgPrefix(xOrg), orgPrefix(wOrg)];
  const handler = async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const mine = event.Records.filter((r) => prefixes.some((p) => String(r.dynamodb?.Keys?.['PK']?.S ?? '').startsWith(p)));
    if (!mine.length) return { batchItemFailures: [] };
    return inner({ Records: mine }, context);
  };
  const poller = new StreamPoller({
    endpoint: options.endpoint,
    tableName,
    handler,
    idleMs: 20,
    onError: (error) => log(`noisy: stream poller: ${(error as Error).message}`),
  });
  await poller.start();

  const fast = await receiver(0);
  const slow = await receiver(options.slowReceiverMs);
  const arrivals = new Map<string, number>();
  fast.onBody = (body, at) => {
    try {
      const event = JSON.parse(body) as { data?: { card?: { id?: string; version?: number } } };
      const card = event.data?.card;
      if (card?.id && card.version !== undefined) arrivals.set(`${card.id}@${card.version}`, at);
    } catch {
      // not ours
    }
  };

  try {
    // --- org X: parent, N synced children, a webhook with a fast receiver
    const pipe = (name: string) => ({
      name,
      startFormFields: [
        { label: 'Name', type: 'short_text', isTitle: true },
        { label: 'Tier', type: 'short_text' },
      ],
    });
    const parents = (await x('createPipe', { body: pipe('Accounts') })).body;
    const kids = (await x('createPipe', { body: pipe('Tasks') })).body;
    const [, pTier] = parents.startForm.fields.map((f: { id: string }) => f.id) as [string, string];
    const [, cTier] = kids.startForm.fields.map((f: { id: string }) => f.id) as [string, string];
    const connection = (
      await x('createConnection', {
        body: {
          name: 'Tasks',
          parent: { type: 'pipe', id: parents.id },
          child: { type: 'pipe', id: kids.id },
          entries: 'multiple',
          fieldMap: [{ childFieldId: cTier, parentFieldId: pTier, sync: true }],
        },
      })
    ).body;
    const parent = (await x('createCard', { params: { pipeId: parents.id }, body: { values: { [pTier]: 'start' } } })).body;
    const childIds: string[] = [];
    for (let i = 0; i < options.children; i++) {
      childIds.push((await x('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: {} } })).body.id);
    }
    await x('createWebhook', { body: { url: fast.url, eventTypes: ['card.updated'] } });

    // --- org W: a webhook whose receiver answers after slowReceiverMs
    const wPipe = (await w('createPipe', { body: pipe('Leads') })).body;
    await w('createWebhook', { body: { url: slow.url, eventTypes: ['card.created'] } });

    const childKeys = childIds.map((id) => keys.card(xOrg, id));
    const allChildrenAt = async (value: string, deadline: number): Promise<number> => {
      for (;;) {
        const out = await doc.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: { Keys: childKeys, ConsistentRead: true, ProjectionExpression: '#v.#f', ExpressionAttributeNames: { '#v': 'values', '#f': cTier } },
            },
          }),
        );
        const items = out.Responses?.[tableName] ?? [];
        const seenAt = Date.now();
        if (items.length === childKeys.length && items.every((i) => (i['values'] as Record<string, unknown> | undefined)?.[cTier] === value)) return seenAt;
        if (seenAt > deadline) throw new Error(`children did not reach ${value} in time`);
        await sleep(5);
      }
    };

    let n = 0;
    const sample = async () => {
      const value = `tier-${n++}`;
      const response = await x('updateCard', { params: { cardId: parent.id }, body: { values: { [pTier]: value } } });
      const writtenAt = Date.parse(response.body.updatedAt);
      const seenAt = await allChildrenAt(value, Date.now() + 120_000);
      return { lag: seenAt - writtenAt, key: `${parent.id}@${response.body.version}`, writtenAt };
    };
    const phase = async (edits: number): Promise<PhaseStats> => {
      const taken: Array<{ lag: number; key: string; writtenAt: number }> = [];
      for (let i = 0; i < edits; i++) {
        taken.push(await sample());
        await sleep(50);
      }
      // X's deliveries of this phase: wait (bounded) for the last to arrive.
      const until = Date.now() + 30_000;
      while (Date.now() < until && !taken.every((t) => arrivals.has(t.key))) await sleep(20);
      const lagMs = taken.map((t) => t.lag);
      const deliveryLagMs = taken.filter((t) => arrivals.has(t.key)).map((t) => arrivals.get(t.key)! - t.writtenAt);
      return {
        samples: lagMs.length,
        lagMs,
        deliveryLagMs,
        p50: quantile(lagMs, 0.5),
        p99: quantile(lagMs, 0.99),
        deliveryP50: quantile(deliveryLagMs, 0.5),
        deliveryP99: quantile(deliveryLagMs, 0.99),
      };
    };

    // Warm-up: the poller catches up with the table's stream, code paths get compiled.
    await phase(5);
    log(`noisy: warm-up done (${options.children} children)`);
    const quiet = await phase(options.edits);
    log(`noisy: quiet p50 ${quiet.p50.toFixed(0)} ms, p99 ${quiet.p99.toFixed(0)} ms`);

    const invocationsBefore = options.deliveryQueue.invocations.length;
    const requestsBefore = slow.requests;
    // W's burst, while X's samples run: 20 cards, each a card.created delivery that hangs.
    const burst = (async () => {
      for (let i = 0; i < options.noisyCards; i += 4) {
        await Promise.all(
          Array.from({ length: Math.min(4, options.noisyCards - i) }, (_, k) =>
            w('createCard', { params: { pipeId: wPipe.id }, body: { title: `lead ${i + k}` } }),
          ),
        );
      }
    })();
    // The first slow attempts are under way before X's first sample.
    const started = Date.now();
    while (slow.held === 0 && Date.now() - started < 10_000) await sleep(10);
    const noisy = await phase(options.edits);
    await burst;
    log(
      `noisy: with neighbour p50 ${noisy.p50.toFixed(0)} ms, p99 ${noisy.p99.toFixed(0)} ms; W's receiver got ${slow.requests - requestsBefore} request(s), ${slow.maxHeld} held at once`,
    );
    const pendingAtEnd = options.deliveryQueue.peek().filter((m) => m.groupId === wOrg).length;
    return {
      children: options.children,
      edits: options.edits,
      slowReceiverMs: options.slowReceiverMs,
      noisyCards: options.noisyCards,
      deliveryTimeoutMs: Number(process.env['WEBHOOK_TIMEOUT_MS'] ?? 5000),
      quiet,
      noisy,
      ratio: noisy.p99 / quiet.p99,
      neighbour: {
        requests: slow.requests - requestsBefore,
        maxHeld: slow.maxHeld,
        pendingAtEnd,
        invocations: options.deliveryQueue.invocations.length - invocationsBefore,
      },
    };
  } finally {
    await poller.stop();
    await fast.close();
    await slow.close();
    raw.destroy();
  }
}

export function noisyMarkdown(r: NoisyResult): string[] {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
  const row = (name: string, p: PhaseStats) =>
    `| ${name} | ${p.samples} | ${f(p.p50)} | ${f(p.p99)} | ${f(quantile(p.lagMs, 1))} | ${f(p.deliveryP50)} | ${f(p.deliveryP99)} |`;
  return [
    `### Noisy neighbour: org W's receiver answers after ${r.slowReceiverMs / 1000} s, org X's synced-field propagation`,
    '',
    `X: a parent whose synced field reaches ${r.children} children, edited ${r.edits} times per phase, one edit at a time; lag = all children seen updated − the parent's updatedAt. ` +
      `W: ${r.noisyCards} cards created as the noisy phase starts, each a card.created delivery to a receiver that answers after ${r.slowReceiverMs / 1000} s (delivery timeout ${r.deliveryTimeoutMs / 1000} s: every attempt fails and is retried). ` +
      `Same run, same process, one stream processor; deliveries through the local delivery queue (fair: message group = organization). ` +
      `During the noisy phase W's receiver got ${r.neighbour.requests} request(s), up to ${r.neighbour.maxHeld} held open at once; the consumer ran ${r.neighbour.invocations} invocation(s); ${r.neighbour.pendingAtEnd} of W's messages were still queued or in flight at the end.`,
    '',
    '| phase | samples | propagation p50 ms | p99 ms | max ms | X delivery p50 ms | p99 ms |',
    '|---|--:|--:|--:|--:|--:|--:|',
    row('X alone', r.quiet),
    row('X with W hanging', r.noisy),
    '',
    `p99 ratio (with ÷ without): **${r.ratio.toFixed(2)}×** (target ≤ 1.5×).`,
  ];
}
