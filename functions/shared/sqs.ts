/** The SQS client, created once per container and shared by every queue's producer and consumer. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { traced } from './tracer';

let sqs: SQSClient | undefined;
export const sqsClient = () => (sqs ??= traced(new SQSClient({})));
