/**
 * The fan-out wake-up queue, seen from its producer (the stream processor, on a waiting job's own
 * record): one message per wait, body { orgId, parentId } — the job's key, never its state — with
 * DelaySeconds until the wait is due and MessageGroupId = orgId (a fair queue). The queue URL is
 * configuration (FANOUT_QUEUE_URL), read when the first wake-up is sent.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { FanOutWakeups } from '../../domain/propagation/stream';
import { sqsClient } from '../deliveries/queue';
import { requiredEnv } from '../shared/env';

export const wakeMessageSchema = z.object({ orgId: z.string().min(1), parentId: z.string().min(1) });

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
