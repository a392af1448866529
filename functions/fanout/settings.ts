/**
 * The fan-out wake-up queue (a delay queue): the CDK (queue, dead-letter queue, event source
 * mapping) and the local queue (infra/local/local-queue.ts) both read these.
 *
 * A hot parent's fan-out waits for quiet in its job item, not in a stream batch; a message with the
 * job's key, sent with DelaySeconds, comes back when the wait is due (domain/propagation/stream.ts,
 * StreamWork.wake). MessageGroupId = organization, as on the delivery queue: a fair queue, so one
 * tenant's burst of edits does not delay another's wake-ups.
 */
import type { DeliveryQueueSettings } from '../deliveries/settings';

export type FanOutQueueSettings = DeliveryQueueSettings;

/** The consumer's function timeout: a wake-up is two reads and one conditional write. */
export const FANOUT_CONSUMER_TIMEOUT_SECONDS = 10;

export const FANOUT_QUEUE_SETTINGS: Readonly<FanOutQueueSettings> = {
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  maximumConcurrency: 5,
  // AWS's guidance for Lambda consumers: at least six times the function timeout. A crashed
  // consumer's message is back after this; FAN_OUT_TUNING.lostAfterMs is above it.
  visibilityTimeoutSeconds: 6 * FANOUT_CONSUMER_TIMEOUT_SECONDS,
  // Each receive is a wake-up (an early one is put back once); past this the DLQ alarm says so.
  maxReceiveCount: 5,
  retentionSeconds: 4 * 24 * 3600,
  deadLetterRetentionSeconds: 14 * 24 * 3600,
  reportBatchItemFailures: true,
};
