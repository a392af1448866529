/**
 * The webhook delivery queue, seen from its producers (the stream processor's events step):
 * one message per (webhook, event), body { orgId, webhookId, eventId } — the delivery item's key,
 * never the payload, which stays in the table — and MessageGroupId = orgId, which makes the
 * standard queue a fair queue. The SQS client is created once per container; the queue URL is
 * configuration (DELIVERY_QUEUE_URL), read when something is first sent, so stream code that
 * never delivers does not need it.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { requiredEnv } from '../shared/env';
import { recordWebhookDelivery } from '../shared/metrics';
import { sqsClient } from '../shared/sqs';

export const deliveryMessageSchema = z.object({
  orgId: z.string().min(1),
  webhookId: z.string().min(1),
  eventId: z.string().min(1),
});

export type DeliveryMessage = z.infer<typeof deliveryMessageSchema>;

export { sqsClient };
export const deliveryQueueUrl = () => requiredEnv('DELIVERY_QUEUE_URL');

/** SendMessageBatch takes at most 10 entries. */
const SEND_BATCH = 10;

/**
 * Enqueues the messages; throws if any entry is refused, so the stream record is retried (a
 * repeat is harmless: the consumer acts on the delivery item's state, not on the message).
 */
export async function enqueueDeliveries(messages: DeliveryMessage[], delaySeconds = 0): Promise<void> {
  if (!messages.length) return;
  const url = deliveryQueueUrl();
  const sends: Array<Promise<void>> = [];
  for (let i = 0; i < messages.length; i += SEND_BATCH) {
    const chunk = messages.slice(i, i + SEND_BATCH);
    sends.push(
      sqsClient()
        .send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((m, n) => ({
              Id: String(n),
              MessageBody: JSON.stringify(m),
              MessageGroupId: m.orgId,
              ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
            })),
          }),
        )
        .then((out) => {
          if (out.Failed?.length)
            throw new Error(`Delivery queue refused ${out.Failed.length} message(s): ${out.Failed.map((f) => `${f.Code} ${f.Message ?? ''}`).join('; ')}`);
          if (!delaySeconds) recordWebhookDelivery('enqueued', chunk.length);
        }),
    );
  }
  await Promise.all(sends);
}
