/**
 * The local delivery queue has the SQS semantics the consumer relies on: visibility timeout,
 * receive count and redrive to the dead-letter queue, per-group fairness, bounded concurrency,
 * partial batch responses, and the JSON protocol the SDK speaks. Clock-driven cases pass `now`;
 * the ones through the poller use real (short) timeouts and generous waits.
 */
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalQueue } from '../../infra/local/local-queue';

const queues: LocalQueue[] = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop()));
});

async function queue(options: ConstructorParameters<typeof LocalQueue>[0] = {}) {
  const q = new LocalQueue(options);
  queues.push(q);
  await q.start();
  return q;
}

const until = async (check: () => boolean, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('local queue: visibility, receive count, redrive (clock-driven)', () => {
  it('a received message is invisible until its visibility timeout runs out, then received again', async () => {
    const q = await queue({ settings: { visibilityTimeoutSeconds: 30 } });
    const t0 = 1_000_000;
    const sent = q.send('{"n":1}', 'org_a', 0, t0);
    const [first] = q.receive(10, t0);
    expect(first).toMatchObject({ messageId: sent.messageId, receiveCount: 1 });
    const firstHandle = first!.receiptHandle;
    expect(q.receive(10, t0 + 29_999)).toEqual([]);
    const [again] = q.receive(10, t0 + 30_000);
    expect(again).toMatchObject({ messageId: sent.messageId, receiveCount: 2 });
    expect(again!.receiptHandle).not.toBe(firstHandle);
  });

  it('ChangeMessageVisibility moves the moment it comes back; a stale receipt handle is refused', async () => {
    const q = await queue({ settings: { visibilityTimeoutSeconds: 30 } });
    const t0 = 2_000_000;
    q.send('x', 'org_a', 0, t0);
    const [m] = q.receive(1, t0);
    const handle = m!.receiptHandle!;
    q.changeVisibility(handle, 4, t0 + 1_000);
    expect(q.receive(1, t0 + 4_999)).toEqual([]);
    const [back] = q.receive(1, t0 + 5_000);
    expect(back!.receiveCount).toBe(2);
    expect(() => q.delete(handle)).toThrow(/receipt handle/);
    q.delete(back!.receiptHandle!);
    expect(q.size).toBe(0);
  });

  it('after maxReceiveCount receives the next receive moves the message to the dead-letter queue', async () => {
    const q = await queue({ settings: { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 } });
    let now = 3_000_000;
    const sent = q.send('poison', 'org_a', 0, now);
    for (let n = 1; n <= 3; n++) {
      expect(q.receive(1, now).map((m) => m.receiveCount)).toEqual([n]);
      now += 1_000;
    }
    expect(q.receive(1, now)).toEqual([]);
    expect(q.size).toBe(0);
    expect(q.deadLetters.map((m) => [m.messageId, m.receiveCount])).toEqual([[sent.messageId, 3]]);
  });

  it('fills a batch fairly: the group with fewer messages in flight first, oldest first within a group', async () => {
    const q = await queue();
    const t0 = 4_000_000;
    for (let i = 0; i < 6; i++) q.send(`noisy-${i}`, 'org_noisy', 0, t0 + i);
    expect(q.receive(3, t0 + 10).map((m) => m.body)).toEqual(['noisy-0', 'noisy-1', 'noisy-2']);
    q.send('quiet-0', 'org_quiet', 0, t0 + 20);
    q.send('quiet-1', 'org_quiet', 0, t0 + 21);
    // Three noisy messages in flight, none of the quiet group: the quiet group's come first,
    // although the noisy backlog is older.
    expect(q.receive(3, t0 + 30).map((m) => m.body)).toEqual(['quiet-0', 'quiet-1', 'noisy-3']);
    // With both groups in flight, picks alternate (fewest in flight first, then the oldest).
    q.send('quiet-2', 'org_quiet', 0, t0 + 40);
    q.send('quiet-3', 'org_quiet', 0, t0 + 41);
    expect(q.receive(3, t0 + 50).map((m) => m.body)).toEqual(['quiet-2', 'quiet-3', 'noisy-4']);
  });
});

describe('local queue: the event source mapping drives the handler', () => {
  it('a message reported failed comes back after its visibility timeout; succeeded ones are deleted', async () => {
    const seen: Array<{ body: string; receiveCount: string; group?: string }> = [];
    const q = await queue({
      settings: { visibilityTimeoutSeconds: 1 },
      handler: async (event: SQSEvent) => {
        for (const r of event.Records)
          seen.push({
            body: r.body,
            receiveCount: r.attributes.ApproximateReceiveCount,
            group: (r.attributes as unknown as Record<string, string>)['MessageGroupId'],
          });
        const failOnce = event.Records.filter((r) => r.body === 'flaky' && r.attributes.ApproximateReceiveCount === '1');
        return { batchItemFailures: failOnce.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    q.send('flaky', 'org_a');
    q.send('fine', 'org_b');
    await q.drain(20_000);
    expect(seen.filter((s) => s.body === 'flaky').map((s) => s.receiveCount)).toEqual(['1', '2']);
    expect(seen.filter((s) => s.body === 'fine').map((s) => s.receiveCount)).toEqual(['1']);
    expect(seen.find((s) => s.body === 'fine')!.group).toBe('org_b');
    expect(q.deadLetters).toEqual([]);
  });

  it('a handler that always fails sends the message to the dead-letter queue after maxReceiveCount receives', async () => {
    let calls = 0;
    const q = await queue({
      settings: { visibilityTimeoutSeconds: 0, maxReceiveCount: 4 },
      handler: async () => {
        calls++;
        throw new Error('consumer down');
      },
    });
    q.send('doomed', 'org_a');
    await q.drain(20_000);
    expect(calls).toBe(4);
    expect(q.deadLetters.map((m) => [m.body, m.receiveCount])).toEqual([['doomed', 4]]);
  });

  it('a slow group does not block another group: its backlog waits, the other group goes first; concurrency stays bounded', async () => {
    // Each slow message holds its slot until the test lets it go, one at a time.
    const gates: Array<() => void> = [];
    let running = 0;
    let maxRunning = 0;
    const done: string[] = [];
    const q = await queue({
      settings: { batchSize: 1, maximumConcurrency: 2 },
      handler: async (event: SQSEvent) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        try {
          for (const r of event.Records) {
            if (r.body.startsWith('slow')) await new Promise<void>((release) => gates.push(release));
            done.push(r.body);
          }
        } finally {
          running--;
        }
      },
    });
    for (let i = 0; i < 8; i++) q.send(`slow-${i}`, 'org_slow');
    q.send('fast-0', 'org_fast');
    // fast-0 takes the second slot at once, ahead of the older slow backlog.
    await until(() => done.includes('fast-0'));
    expect(done).toEqual(['fast-0']);
    // Both slots are now held by slow messages; a new fast message waits for the next free slot
    // only, not for the slow backlog (six slow messages are still queued when it is sent).
    await until(() => gates.length === 2);
    q.send('fast-1', 'org_fast');
    gates.shift()!();
    await until(() => done.includes('fast-1'));
    expect(done).toEqual(['fast-0', 'slow-0', 'fast-1']);
    for (;;) {
      if (q.size === 0 && running === 0) break;
      if (gates.length) gates.shift()!();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(done.filter((d) => d.startsWith('slow'))).toHaveLength(8);
    expect(maxRunning).toBe(2);
  });
});

describe('local queue: the SQS JSON protocol through @aws-sdk/client-sqs', () => {
  it('SendMessage, SendMessageBatch (with message groups) and ChangeMessageVisibility', async () => {
    const q = await queue({ settings: { visibilityTimeoutSeconds: 30 } });
    const sqs = new SQSClient({ endpoint: q.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const one = await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: '{"a":1}', MessageGroupId: 'org_a' }));
      expect(one.MessageId).toBeTruthy();
      const batch = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: q.url,
          Entries: [
            { Id: '0', MessageBody: '{"b":1}', MessageGroupId: 'org_b' },
            { Id: '1', MessageBody: '{"b":2}', MessageGroupId: 'org_b' },
          ],
        }),
      );
      expect(batch.Successful?.map((s) => s.Id)).toEqual(['0', '1']);
      expect(q.peek().map((m) => [m.body, m.groupId])).toEqual([
        ['{"a":1}', 'org_a'],
        ['{"b":1}', 'org_b'],
        ['{"b":2}', 'org_b'],
      ]);
      const [m] = q.receive(1);
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: q.url, ReceiptHandle: m!.receiptHandle!, VisibilityTimeout: 0 }));
      expect(q.receive(3).map((r) => r.messageId)).toContain(m!.messageId);
      await expect(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: q.url, ReceiptHandle: 'nope', VisibilityTimeout: 5 }))).rejects.toThrow(
        /receipt handle/,
      );
    } finally {
      sqs.destroy();
    }
  });
});

describe('local queue: DelaySeconds (the fan-out wake-up queue is a delay queue)', () => {
  it('a delayed message is not received before its delay is over, then received like any other', async () => {
    const q = await queue({ settings: { visibilityTimeoutSeconds: 30 } });
    const t0 = 2_000_000;
    const delayed = q.send('{"late":1}', 'org_a', 2, t0);
    const now = q.send('{"now":1}', 'org_a', 0, t0);
    expect(q.receive(10, t0).map((m) => m.messageId)).toEqual([now.messageId]);
    expect(q.receive(10, t0 + 1_999)).toEqual([]);
    expect(q.receive(10, t0 + 2_000)).toMatchObject([{ messageId: delayed.messageId, receiveCount: 1 }]);
  });

  it('SendMessage and SendMessageBatch take DelaySeconds from 0 to 900; queues of one process share one endpoint, routed by QueueUrl', async () => {
    const a = await queue({ name: 'queue-a' });
    const b = await queue({ name: 'queue-b' });
    expect(b.endpoint).toBe(a.endpoint);
    const sqs = new SQSClient({ endpoint: a.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const before = Date.now();
      await sqs.send(new SendMessageCommand({ QueueUrl: b.url, MessageBody: '{"wake":1}', MessageGroupId: 'org_a', DelaySeconds: 5 }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: a.url, Entries: [{ Id: '0', MessageBody: '{"x":1}', DelaySeconds: 3 }] }));
      expect(a.peek().map((m) => m.body)).toEqual(['{"x":1}']);
      const [wake] = b.peek();
      expect(wake).toMatchObject({ body: '{"wake":1}', groupId: 'org_a' });
      expect(wake!.visibleAt - before).toBeGreaterThanOrEqual(5_000);
      expect(b.receive(10)).toEqual([]);
      await expect(sqs.send(new SendMessageCommand({ QueueUrl: b.url, MessageBody: '{}', DelaySeconds: 901 }))).rejects.toThrow(/DelaySeconds/);
      await expect(sqs.send(new SendMessageCommand({ QueueUrl: `${a.endpoint}/000000000000/nope`, MessageBody: '{}' }))).rejects.toThrow(/No queue/);
    } finally {
      sqs.destroy();
    }
  });

  it('through the poller: the handler gets a delayed message only once its delay is over', async () => {
    const seen: Array<{ body: string; at: number }> = [];
    const q = await queue({
      idleMs: 5,
      handler: async (event: SQSEvent) => {
        for (const r of event.Records) seen.push({ body: r.body, at: Date.now() });
        return { batchItemFailures: [] };
      },
    });
    // visibleAt moves on at the receive (the visibility timeout): keep the due moment.
    const due = q.send('{"wake":1}', 'org_a', 1).visibleAt;
    await until(() => seen.length === 1);
    expect(seen[0]!.at).toBeGreaterThanOrEqual(due);
    await q.drain();
  });
});
