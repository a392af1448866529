/**
 * How the table's stream reaches its processor: the CDK event source mapping and the local
 * poller both read these, so the two behave alike.
 */
export interface StreamSettings {
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  batchSize: number;
  maxBatchingWindowSeconds: number;
  retryAttempts: number;
  bisectBatchOnFunctionError: boolean;
  reportBatchItemFailures: boolean;
  maxRecordAgeSeconds: number;
  parallelizationFactor: number;
  entities: readonly string[];
  eventNames: readonly string[];
}

export const STREAM_SETTINGS: Readonly<StreamSettings> = {
  startingPosition: 'TRIM_HORIZON',
  batchSize: 100,
  /** Seconds to gather a batch (0: invoke as soon as records arrive). */
  maxBatchingWindowSeconds: 0,
  /** Attempts after the first before a record goes to the on-failure destination. */
  retryAttempts: 5,
  bisectBatchOnFunctionError: true,
  reportBatchItemFailures: true,
  /** Records older than this are sent to the on-failure destination instead of being processed. */
  maxRecordAgeSeconds: 24 * 3600,
  /**
   * Concurrent batches per shard: Lambda keeps the records of one partition key in one of them,
   * in order, so other items need not wait behind a long one (the processor also runs the items
   * of a batch concurrently, each in order).
   */
  parallelizationFactor: 4,
  /** Only these item types (entity, in NewImage, or OldImage for REMOVE) concern the processor. */
  entities: [
    'Card',
    'Record',
    'PropagationJob',
    'ChildEdge',
    'WebhookDelivery',
    'CascadeJob',
    // activity (functions/streams/activity.ts): the child's side of edges, deletions, and the audited setup items
    'ParentEdge',
    'Tombstone',
    'Pipe',
    'Phase',
    'Field',
    'Database',
    'Connection',
    'Automation',
    'Webhook',
    'ApiToken',
    'OrgSettings',
  ],
  eventNames: ['INSERT', 'MODIFY', 'REMOVE'],
};
