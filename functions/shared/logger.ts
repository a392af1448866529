import { Logger } from '@aws-lambda-powertools/logger';

/** One logger per container. Never log whole events: they carry tokens and customer data. */
export const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'cardflow' });
