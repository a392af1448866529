/**
 * The fan-out wake-up queue, seen from its producer (the stream processor, on a waiting job's own
 * record): one message per wait, body { orgId, parentId } — the job's key, never its state — with
 * DelaySeconds until the wait is due and MessageGroupId = orgId (a fair queue). The queue URL is
 * configuration (FANOUT_QUEUE_URL), read when the first wake-up is sent.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { FanOutWakeups } from '../../domain/propagation/stream';
import { requiredEnv } from '../shared/env';
import { sqsClient } from '../shared/sqs';

/** The job's key from a wake-up's body, or undefined if malformed (two non-empty strings; no zod: it would triple the consumer's bundle). */
export function parseWake(body: string): { orgId: string; parentId: string } | undefined {
  try {
    const { orgId, parentId } = JSON.parse(body) as Record<string, unknown>;
    return typeof orgId === 'string' && orgId && typeof parentId === 'string' && parentId ? { orgId, parentId } : undefined;
  } catch {
    return undefined;
  }
}

export const fanOutQueueUrl = () => requiredEnv('FANOUT_QUEUE_URL');

export const fanOutWakeups: FanOutWakeups = {
  async send(key, delaySeconds) {
    await sqsClient().send(
      new SendMessageCommand({
        QueueUrl: fanOutQueueUrl(),
        MessageBody: JSON.stringify({ orgId: key.orgId, parentId: key.parentId }),
        MessageGroupId: key.orgId,
        ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
  },
};
