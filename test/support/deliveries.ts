/**
 * The webhook delivery queue for tests: a LocalQueue (infra/local/local-queue.ts) driving the
 * unchanged consumer handler, reached by the handlers through @aws-sdk/client-sqs exactly as in
 * AWS — only configuration (DELIVERY_QUEUE_URL, AWS_ENDPOINT_URL_SQS) differs. Start it after the
 * stream harness (which picks the table the consumer reads) and before the first event.
 */
import type { DeliveryQueueSettings } from '../../functions/deliveries/settings';
import { LocalQueue } from '../../infra/local/local-queue';
import type { StreamHarness } from './stream';

export async function startDeliveryQueue(settings: Partial<DeliveryQueueSettings> = {}): Promise<LocalQueue> {
  const { handler } = await import('../../functions/deliveries/consumer');
  const queue = new LocalQueue({ settings, handler, idleMs: 10, onError: (error) => console.error('delivery queue:', (error as Error).message) });
  await queue.start();
  Object.assign(process.env, { DELIVERY_QUEUE_URL: queue.url, AWS_ENDPOINT_URL_SQS: queue.endpoint });
  return queue;
}

/** Until the stream and the delivery queue are both quiet (a redelivery goes stream → queue). */
export async function settle(stream: StreamHarness, queue: LocalQueue): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await stream.poller.drain();
    await queue.drain();
  }
}
