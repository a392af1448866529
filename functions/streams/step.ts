/** What every stream step receives: the record, its images, and the batch's shared work. */
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamWork } from '../../domain/propagation/stream';

export interface StreamStepInput {
  record: DynamoDBRecord;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  work: StreamWork;
}
