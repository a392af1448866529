/**
 * A local SQS queue with the semantics the webhook delivery consumer and the fan-out wake-up
 * consumer rely on, and the event source mapping that drives a consumer from it — configured by
 * DELIVERY_QUEUE_SETTINGS (functions/deliveries/settings.ts) or FANOUT_QUEUE_SETTINGS
 * (functions/fanout/settings.ts), as the CDK queues and mappings are:
 *
 * - the SQS JSON protocol for SendMessage, SendMessageBatch and ChangeMessageVisibility on a
 *   local HTTP endpoint, so the unchanged handlers talk to it through @aws-sdk/client-sqs
 *   (AWS_ENDPOINT_URL_SQS and DELIVERY_QUEUE_URL are the only differences, as for DynamoDB);
 * - DelaySeconds (0–900) per message: a message is not received before its delay is over;
 * - one endpoint for every queue of the process on a host (as SQS has one per region), requests
 *   routed by their QueueUrl;
 * - visibility timeout: a received message is invisible until it is deleted or its visibility
 *   runs out, then it is received again (ChangeMessageVisibility moves that moment);
 * - receive count: each receive counts; a message due for receive number maxReceiveCount + 1 is
 *   moved to the dead-letter list instead (SQS's redrive policy);
 * - message groups with per-group fairness (SQS fair queues): a batch is filled from the groups
 *   with the fewest messages in flight first, oldest message first within a group, so a group
 *   with a backlog or slow messages does not delay another group's messages;
 * - bounded concurrency: at most maximumConcurrency handler invocations at once, each with up to
 *   batchSize messages as a real SQSEvent; a partial batch response deletes the messages not
 *   reported failed, a thrown error deletes none (both as Lambda's SQS event source does).
 *
 * What differs from AWS is listed in the README ("Webhook deliveries: local queue").
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DELIVERY_QUEUE_SETTINGS, type DeliveryQueueSettings } from '../../functions/deliveries/settings';
import { LOCAL_REGION } from './dynamodb-local';

// biome-ignore lint/suspicious/noConfusingVoidType: the shape of aws-lambda's SQSHandler, which may resolve to nothing
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface LocalMessage {
  messageId: string;
  body: string;
  groupId?: string;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** Epoch ms from which the message may be received. */
  visibleAt: number;
  /** The handle of the latest receive (a message never received has none). */
  receiptHandle?: string;
}

export interface LocalQueueOptions {
  name?: string;
  settings?: Partial<DeliveryQueueSettings>;
  /** The consumer; without one the queue only stores (tests drive receive() themselves). */
  handler?: SqsHandler;
  /** Milliseconds between polls when nothing is visible. */
  idleMs?: number;
  onError?: (error: unknown) => void;
}

const ACCOUNT = '000000000000';
const MAX_VISIBILITY_SECONDS = 12 * 3600;
const MAX_DELAY_SECONDS = 900;
const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

class QueueError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class LocalQueue {
  readonly name: string;
  readonly settings: DeliveryQueueSettings;
  readonly arn: string;
  url = '';
  /** Messages moved here after maxReceiveCount receives (the dead-letter queue). */
  readonly deadLetters: LocalMessage[] = [];
  /** Every invocation's messages (ids), in order: what the tests inspect. */
  readonly invocations: Array<{ messageIds: string[]; groups: string[]; at: number }> = [];
  private readonly messages = new Map<string, LocalMessage>();
  private endpointServer?: SharedEndpoint;
  private running = false;
  private loop?: Promise<void>;
  private readonly inFlightInvocations = new Set<Promise<void>>();
  private wake?: () => void;

  constructor(private readonly options: LocalQueueOptions = {}) {
    this.name = options.name ?? 'cardflow-deliveries';
    this.settings = { ...DELIVERY_QUEUE_SETTINGS, ...options.settings };
    this.arn = `arn:aws:sqs:${LOCAL_REGION}:${ACCOUNT}:${this.name}`;
  }

  /**
   * Starts the HTTP endpoint (and the consumer poller, if there is a handler). Every queue of the
   * process on one host shares one endpoint, as SQS's is one per region (AWS_ENDPOINT_URL_SQS
   * names one origin); requests go to the queue their QueueUrl names.
   */
  async start(host = '127.0.0.1'): Promise<void> {
    this.endpointServer = await joinEndpoint(host, this);
    if (this.options.handler) {
      this.running = true;
      this.loop = this.run();
    }
  }

  /** The endpoint for AWS_ENDPOINT_URL_SQS. */
  get endpoint(): string {
    return new URL(this.url).origin;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.inFlightInvocations]);
    await this.endpointServer?.leave(this);
    this.endpointServer = undefined;
  }

  // ——— queue semantics ———

  send(body: string, groupId?: string, delaySeconds = 0, now = Date.now()): LocalMessage {
    const message: LocalMessage = {
      messageId: randomUUID(),
      body,
      sentAt: now,
      receiveCount: 0,
      visibleAt: now + delaySeconds * 1000,
      ...(groupId ? { groupId } : {}),
    };
    this.messages.set(message.messageId, message);
    this.wake?.();
    return message;
  }

  /** Messages received and not yet deleted or visible again, per group. */
  private inFlightByGroup(now: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.messages.values()) {
      if (m.receiptHandle && m.visibleAt > now) counts.set(m.groupId ?? '', (counts.get(m.groupId ?? '') ?? 0) + 1);
    }
    return counts;
  }

  /**
   * Receives up to `max` visible messages, fairly between groups: each pick goes to the group
   * with the fewest messages in flight (counting this batch's picks), ties to the oldest message.
   */
  receive(max: number, now = Date.now()): LocalMessage[] {
    const byGroup = new Map<string, LocalMessage[]>();
    for (const m of this.messages.values()) {
      if (m.visibleAt > now) continue;
      const group = m.groupId ?? '';
      let list = byGroup.get(group);
      if (!list) {
        list = [];
        byGroup.set(group, list);
      }
      list.push(m);
    }
    for (const list of byGroup.values()) list.sort((a, b) => a.sentAt - b.sentAt);
    const inFlight = this.inFlightByGroup(now);
    const picked: LocalMessage[] = [];
    while (picked.length < max) {
      let best: string | undefined;
      for (const [group, list] of byGroup) {
        if (!list.length) continue;
        if (best === undefined) {
          best = group;
          continue;
        }
        const a = inFlight.get(group) ?? 0;
        const b = inFlight.get(best) ?? 0;
        if (a < b || (a === b && list[0]!.sentAt < byGroup.get(best)![0]!.sentAt)) best = group;
      }
      if (best === undefined) break;
      const message = byGroup.get(best)!.shift()!;
      if (message.receiveCount >= this.settings.maxReceiveCount) {
        // The redrive policy: this would be receive maxReceiveCount + 1.
        this.messages.delete(message.messageId);
        this.deadLetters.push(message);
        continue;
      }
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + this.settings.visibilityTimeoutSeconds * 1000;
      message.receiptHandle = randomUUID();
      inFlight.set(best, (inFlight.get(best) ?? 0) + 1);
      picked.push(message);
    }
    return picked;
  }

  private byHandle(receiptHandle: string): LocalMessage {
    for (const m of this.messages.values()) if (m.receiptHandle === receiptHandle) return m;
    throw new QueueError('ReceiptHandleIsInvalid', `The receipt handle "${receiptHandle}" is not valid (deleted, or received again since)`);
  }

  changeVisibility(receiptHandle: string, seconds: number, now = Date.now()): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_SECONDS) {
      throw new QueueError('InvalidParameterValue', `VisibilityTimeout must be an integer from 0 to ${MAX_VISIBILITY_SECONDS}`);
    }
    const message = this.byHandle(receiptHandle);
    if (message.visibleAt <= now) throw new QueueError('MessageNotInflight', 'The message is not in flight');
    message.visibleAt = now + seconds * 1000;
    if (seconds === 0) this.wake?.();
  }

  delete(receiptHandle: string): void {
    const message = this.byHandle(receiptHandle);
    this.messages.delete(message.messageId);
  }

  /** Messages in the queue (visible, delayed or in flight), not counting the dead letters. */
  get size(): number {
    return this.messages.size;
  }

  peek(): LocalMessage[] {
    return [...this.messages.values()];
  }

  /** Resolves when the queue is empty (every message deleted or dead-lettered) and no invocation runs. */
  async drain(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.size > 0 || this.inFlightInvocations.size > 0) {
      if (Date.now() > deadline) throw new Error(`The queue did not drain in time (${this.messages.size} message(s) left)`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  // ——— the event source mapping ———

  private async run(): Promise<void> {
    const idleMs = this.options.idleMs ?? 25;
    while (this.running) {
      try {
        while (this.inFlightInvocations.size < this.settings.maximumConcurrency) {
          const batch = this.receive(this.settings.batchSize);
          if (!batch.length) break;
          const invocation = this.invoke(batch).finally(() => {
            this.inFlightInvocations.delete(invocation);
            this.wake?.();
          });
          this.inFlightInvocations.add(invocation);
        }
      } catch (error) {
        this.options.onError?.(error);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, idleMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
  }

  private toRecord(m: LocalMessage): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: m.receiptHandle!,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: ACCOUNT,
        ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
        ...(m.groupId ? { MessageGroupId: m.groupId } : {}),
      },
      messageAttributes: {},
      md5OfBody: md5(m.body),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: LOCAL_REGION,
    };
  }

  private async invoke(batch: LocalMessage[]): Promise<void> {
    const records = batch.map((m) => this.toRecord(m));
    this.invocations.push({ messageIds: batch.map((m) => m.messageId), groups: batch.map((m) => m.groupId ?? ''), at: Date.now() });
    let failed: Set<string>;
    try {
      const response = await this.options.handler!({ Records: records }, lambdaContext(this.name));
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      // A failed invocation deletes nothing: every message comes back when its visibility runs out.
      this.options.onError?.(error);
      return;
    }
    for (const record of records) {
      if (failed.has(record.messageId)) continue;
      const current = this.messages.get(record.messageId);
      // Only the receive that still holds the message may delete it.
      if (current?.receiptHandle === record.receiptHandle) this.messages.delete(record.messageId);
    }
  }

  // ——— the SQS JSON protocol (the subset the handlers use) ———

  /** One request of the SQS JSON protocol addressed to this queue: the reply's body, or a QueueError. */
  handle(target: string, input: Record<string, unknown>): unknown {
    switch (target) {
      case 'AmazonSQS.SendMessage': {
        const m = this.send(String(input['MessageBody']), input['MessageGroupId'] as string | undefined, delayOf(input['DelaySeconds']));
        return { MessageId: m.messageId, MD5OfMessageBody: md5(m.body) };
      }
      case 'AmazonSQS.SendMessageBatch': {
        const entries = (input['Entries'] ?? []) as Array<Record<string, unknown>>;
        if (!entries.length || entries.length > 10)
          throw new QueueError('AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'A batch holds 1 to 10 entries');
        // All valid or none sent, as SQS validates the request before sending any entry.
        for (const e of entries) delayOf(e['DelaySeconds']);
        const Successful = entries.map((e) => {
          const m = this.send(String(e['MessageBody']), e['MessageGroupId'] as string | undefined, delayOf(e['DelaySeconds']));
          return { Id: e['Id'], MessageId: m.messageId, MD5OfMessageBody: md5(m.body) };
        });
        return { Successful, Failed: [] };
      }
      case 'AmazonSQS.ChangeMessageVisibility':
        this.changeVisibility(String(input['ReceiptHandle']), Number(input['VisibilityTimeout']));
        return {};
      case 'AmazonSQS.DeleteMessage':
        this.delete(String(input['ReceiptHandle']));
        return {};
      default:
        throw new QueueError('UnsupportedOperation', `The local queue does not implement ${target || 'this request'}`);
    }
  }
}

/** SQS's DelaySeconds: an integer from 0 to 900 (15 minutes). */
function delayOf(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DELAY_SECONDS) {
    throw new QueueError('InvalidParameterValue', `DelaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`);
  }
  return value;
}

/** The one HTTP endpoint of the queues on a host (SQS's endpoint), routing by QueueUrl. */
interface SharedEndpoint {
  leave(queue: LocalQueue): Promise<void>;
}

const endpoints = new Map<string, Promise<{ server: Server; origin: string; queues: Map<string, LocalQueue> }>>();

async function joinEndpoint(host: string, queue: LocalQueue): Promise<SharedEndpoint> {
  let opened = endpoints.get(host);
  if (!opened) {
    opened = (async () => {
      const queues = new Map<string, LocalQueue>();
      const server = createServer((req, res) => void serve(queues, req, res));
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      const { port } = server.address() as AddressInfo;
      return { server, origin: `http://${host}:${port}`, queues };
    })();
    endpoints.set(host, opened);
  }
  const endpoint = await opened;
  // Two queues of one name in a process (two runtimes, say) get distinct paths.
  let path = `/${ACCOUNT}/${queue.name}`;
  for (let n = 2; endpoint.queues.has(path); n++) path = `/${ACCOUNT}/${queue.name}-${n}`;
  endpoint.queues.set(path, queue);
  queue.url = `${endpoint.origin}${path}`;
  return {
    async leave(q: LocalQueue) {
      endpoint.queues.delete(new URL(q.url).pathname);
      if (endpoint.queues.size > 0 || endpoints.get(host) !== opened) return;
      endpoints.delete(host);
      await new Promise<void>((resolve) => {
        endpoint.server.closeAllConnections();
        endpoint.server.close(() => resolve());
      });
    },
  };
}

async function serve(queues: Map<string, LocalQueue>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const target = String(req.headers['x-amz-target'] ?? '');
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
  };
  try {
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const queue = input['QueueUrl'] !== undefined ? queues.get(new URL(String(input['QueueUrl'])).pathname) : undefined;
    if (!queue) throw new QueueError('AWS.SimpleQueueService.NonExistentQueue', `No queue at ${input['QueueUrl']}`);
    return reply(200, queue.handle(target, input));
  } catch (error) {
    const e = error instanceof QueueError ? error : new QueueError('InternalError', (error as Error).message, 500);
    res.setHeader('x-amzn-query-error', `${e.type};Sender`);
    return reply(e.status, { __type: `com.amazonaws.sqs#${e.type}`, message: e.message });
  }
}

function lambdaContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `${name}-consumer`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${ACCOUNT}:function:${name}-consumer`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}-consumer`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
