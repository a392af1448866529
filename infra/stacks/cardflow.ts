/**
 * The whole deployment: the stateful data stack, the API stack and the streams stack (the
 * table's stream processor, its dead-letter queue, event bus and alarms), both of which receive
 * the data stack's table.
 * infra/app.ts and the infra tests build the same thing through this function.
 */
import { RemovalPolicy, Tags, type App, type Environment, type Stack } from 'aws-cdk-lib';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { ApiStack } from './api-stack';
import { DataStack } from './data-stack';
import { HouseFunction } from './house-function';
import { ObservabilityStack } from './observability-stack';
import { StreamsStack } from './streams-stack';
import type { CardflowSettings } from './settings';

export interface CardflowStacks {
  data: DataStack;
  api: ApiStack;
  streams: StreamsStack;
  observability: ObservabilityStack;
}

/** Every construct of a type in a stack, by its path below the stack ("CardsArea", "Processor"). */
function found<T>(stack: Stack, type: abstract new (...args: never[]) => T): Array<[string, T]> {
  return stack.node
    .findAll()
    .filter((c): c is typeof c & T => c instanceof type)
    .map((c) => [c.node.path.slice(stack.node.path.length + 1), c as T]);
}

export function createCardflowStacks(app: App, settings: CardflowSettings, env?: Environment): CardflowStacks {
  const prefix = `${settings.stage}-Cardflow`;
  const common = env ? { env } : {};

  const data = new DataStack(app, `${prefix}-Data`, {
    ...common,
    description: `cardflow ${settings.stage}: single DynamoDB table (stateful)`,
    removalPolicy: settings.removalPolicy,
    stage: settings.stage,
    terminationProtection: settings.removalPolicy !== RemovalPolicy.DESTROY,
  });

  const api = new ApiStack(app, `${prefix}-Api`, {
    ...common,
    description: `cardflow ${settings.stage}: HTTP API and its Lambda functions`,
    table: data.table,
    secretsKey: data.secretsKey,
    cursorKeySecret: data.cursorKeySecret,
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
    // The delivery consumer signs: it alone on the stream side opens secrets (grantWebhookSecrets).
    webhookSecretsKey: data.secretsKey,
    stage: settings.stage,
    logRetention: settings.logRetention,
    removalPolicy: settings.removalPolicy,
    ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
  });

  // Found rather than listed: a function, queue or alarm added to the API or streams stack is
  // watched and shown with no change here.
  const functions: Record<string, IFunction> = {};
  const queues: Record<string, Queue> = {};
  const otherAlarms: Alarm[] = [];
  for (const stack of [api, streams]) {
    const kind = stack === api ? 'Api' : 'Streams';
    for (const [path, fn] of found(stack, HouseFunction)) functions[`${kind}/${path}`] = fn.function;
    for (const [path, queue] of found(stack, Queue)) queues[`${kind}/${path}`] = queue;
    otherAlarms.push(...found(stack, Alarm).map(([, alarm]) => alarm));
  }
  const observability = new ObservabilityStack(app, `${prefix}-Observability`, {
    ...common,
    description: `cardflow ${settings.stage}: dashboard, API/function/table alarms`,
    stage: settings.stage,
    api: api.api,
    table: data.table,
    alarmTopic: streams.alarmTopic,
    functions,
    // The streams stack alarms on these functions' errors itself.
    errorsAlarmedElsewhere: [streams.processor.function, streams.deliveryConsumer.function, streams.fanOutConsumer.function],
    queues,
    otherAlarms,
    streamConsumers: { processor: streams.processor.function },
  });

  for (const stack of [data, api, streams, observability]) {
    Tags.of(stack).add('project', 'cardflow');
    Tags.of(stack).add('stage', settings.stage);
  }
  return { data, api, streams, observability };
}
