/**
 * How webhook deliveries reach their consumer: the CDK (queue, dead-letter queue, event source
 * mapping) and the local queue (infra/local/local-queue.ts) both read these, so they behave alike.
 *
 * One queue for every organization: a standard SQS queue used as a fair queue — each message
 * carries MessageGroupId = organization id, and SQS serves the groups with fewer messages in
 * flight first, so one tenant's backlog or slow receiver does not raise another tenant's dwell
 * time. Retries are the queue's: a failed attempt leaves the message invisible for the backoff
 * (ChangeMessageVisibility), and a message received more than maxReceiveCount times goes to the
 * dead-letter queue.
 */
import { DEFAULT_DELIVERY_POLICY } from '../../domain/webhooks/webhooks';

export interface DeliveryQueueSettings {
  /** Messages per consumer invocation. */
  batchSize: number;
  maxBatchingWindowSeconds: number;
  /** At most this many consumer invocations at once (the event source mapping's maximumConcurrency, ≥ 2). */
  maximumConcurrency: number;
  /** How long a received message stays invisible if the consumer neither deletes it nor sets a backoff. */
  visibilityTimeoutSeconds: number;
  /** Receives after which SQS moves a message to the dead-letter queue. */
  maxReceiveCount: number;
  retentionSeconds: number;
  deadLetterRetentionSeconds: number;
  reportBatchItemFailures: true;
}

/** The consumer's function timeout: one batch is attempted in parallel, each POST bounded by its timeout. */
export const DELIVERY_CONSUMER_TIMEOUT_SECONDS = 30;

export const DELIVERY_QUEUE_SETTINGS: Readonly<DeliveryQueueSettings> = {
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  maximumConcurrency: 10,
  // AWS's guidance for Lambda consumers: at least six times the function timeout.
  visibilityTimeoutSeconds: 6 * DELIVERY_CONSUMER_TIMEOUT_SECONDS,
  // Every attempt of a round is one receive; a few more absorb crashed or timed-out invocations.
  maxReceiveCount: DEFAULT_DELIVERY_POLICY.maxAttempts + 3,
  retentionSeconds: 4 * 24 * 3600,
  deadLetterRetentionSeconds: 14 * 24 * 3600,
  reportBatchItemFailures: true,
};
