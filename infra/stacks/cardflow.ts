/**
 * The whole deployment: the stateful data stack, the API stack and the streams stack (the
 * table's stream processor, its dead-letter queue, event bus and alarms), both of which receive
 * the data stack's table.
 * infra/app.ts and the infra tests build the same thing through this function.
 */
import { RemovalPolicy, Tags, type App, type Environment } from 'aws-cdk-lib';
import { ApiStack } from './api-stack';
import { DataStack } from './data-stack';
import { StreamsStack } from './streams-stack';
import type { CardflowSettings } from './settings';

export interface CardflowStacks {
  data: DataStack;
  api: ApiStack;
  streams: StreamsStack;
}

export function createCardflowStacks(app: App, settings: CardflowSettings, env?: Environment): CardflowStacks {
  const prefix = `${settings.stage}-Cardflow`;
  const common = env ? { env } : {};

  const data = new DataStack(app, `${prefix}-Data`, {
    ...common,
    description: `cardflow ${settings.stage}: single DynamoDB table (stateful)`,
    removalPolicy: settings.removalPolicy,
    terminationProtection: settings.removalPolicy !== RemovalPolicy.DESTROY,
  });

  const api = new ApiStack(app, `${prefix}-Api`, {
    ...common,
    description: `cardflow ${settings.stage}: HTTP API and its Lambda functions`,
    table: data.table,
    stage: settings.stage,
    ...(settings.jwt ? { jwt: settings.jwt } : {}),
    throttle: settings.throttle,
    logRetention: settings.logRetention,
    removalPolicy: settings.removalPolicy,
    corsOrigins: settings.corsOrigins,
    ...(settings.domain ? { domain: settings.domain } : {}),
  });

  const streams = new StreamsStack(app, `${prefix}-Streams`, {
    ...common,
    description: `cardflow ${settings.stage}: table stream processor, dead-letter queue, event bus and alarms`,
    table: data.table,
    stage: settings.stage,
    logRetention: settings.logRetention,
    removalPolicy: settings.removalPolicy,
    ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
  });

  for (const stack of [data, api, streams]) {
    Tags.of(stack).add('project', 'cardflow');
    Tags.of(stack).add('stage', settings.stage);
  }
  return { data, api, streams };
}
