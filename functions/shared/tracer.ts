/**
 * One X-Ray tracer per container (Powertools Tracer), and the AWS SDK clients captured once, at
 * module scope, so every DynamoDB call is a subsegment. Tracing is on only inside Lambda with
 * active tracing (the CDK sets POWERTOOLS_TRACE_ENABLED); elsewhere (npm start, tests) Powertools
 * turns every call into a no-op, and the local runtime sets POWERTOOLS_TRACE_ENABLED=false too.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { dynamoClient } from '../../domain/store/client';

export const tracer = new Tracer({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'cardflow' });

// The document client shares this client's middleware stack: capturing it traces both.
tracer.captureAWSv3Client(dynamoClient);

/** Traces another SDK client (EventBridge, KMS, SQS); call once, where the client is built. */
export const traced = <T>(client: T): T => tracer.captureAWSv3Client(client);
