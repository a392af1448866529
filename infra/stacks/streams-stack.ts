/**
 * The stream side: the table's stream processor (functions/streams/processor.ts), its event
 * source mapping built only from STREAM_SETTINGS (functions/streams/settings.ts, which the local
 * poller reads too), the SQS dead-letter destination for records that exhaust their retries or
 * age out, the `cardflow-<stage>` EventBridge bus the processor publishes integration events to,
 * and the alarms that say when the stream falls behind, the processor fails or a record is lost
 * to the dead-letter queue.
 *
 * Webhook deliveries leave the ordered stream path: the processor only enqueues them on the
 * delivery queue (a standard queue used as an SQS fair queue, message group = organization),
 * whose own consumer makes the HTTP attempts with bounded concurrency (maximumConcurrency),
 * partial batch responses and retries by visibility timeout, and whose dead-letter queue takes
 * messages received more than maxReceiveCount times. Both are configured from
 * DELIVERY_QUEUE_SETTINGS (functions/deliveries/settings.ts), which the local queue reads too.
 *
 * Coalescing waits outside the stream: a hot parent's fan-out is stored waiting and a delayed
 * wake-up (SQS DelaySeconds, message group = organization) goes on the fan-out queue, whose small
 * consumer re-schedules or hands the job back to its stream record (FANOUT_QUEUE_SETTINGS,
 * functions/fanout/settings.ts). Its dead-letter queue, age and error alarms mirror the delivery
 * queue's.
 *
 * A stack of its own rather than part of the API stack: the API stack is exactly the route
 * manifest (one function per API area, one route per entry, tested as such); the processor is not behind a route, has
 * a different failure model (retries, DLQ, iterator age) and can be deployed, paused or rolled
 * back without touching the API. It depends on the data stack only (table and stream ARN).
 */
import { CfnOutput, CrossStackReferences, Duration, ReferenceStrength, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { FilterCriteria, FilterRule, StartingPosition, type IEventSourceDlq } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource, type DynamoEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { DELIVERY_CONSUMER_TIMEOUT_SECONDS, DELIVERY_QUEUE_SETTINGS, type DeliveryQueueSettings } from '../../functions/deliveries/settings';
import { FANOUT_CONSUMER_TIMEOUT_SECONDS, FANOUT_QUEUE_SETTINGS, type FanOutQueueSettings } from '../../functions/fanout/settings';
import { STREAM_SETTINGS, type StreamSettings } from '../../functions/streams/settings';
import { WEBHOOK_SECRET_PURPOSE } from '../../domain/webhooks/webhooks';
import { bindTable, HouseFunction, SERVICE_NAME } from './house-function';

export interface StreamsStackProps extends StackProps {
  /** The table whose stream is processed (NEW_AND_OLD_IMAGES). */
  table: ITable;
  stage: string;
  logRetention?: RetentionDays;
  /** For the log group, the dead-letter queue and the alarm topic's key; RETAIN unless a dev stack asks otherwise. */
  removalPolicy?: RemovalPolicy;
  /** Subscribed to the alarm topic by e-mail (the stage file's alarmEmail; confirmed once by the recipient). */
  alarmEmail?: string;
  /** Defaults to STREAM_SETTINGS; only tests pass anything else. */
  streamSettings?: Readonly<StreamSettings>;
  /** Defaults to DELIVERY_QUEUE_SETTINGS; only tests pass anything else. */
  deliveryQueueSettings?: Readonly<DeliveryQueueSettings>;
  /** Defaults to FANOUT_QUEUE_SETTINGS; only tests pass anything else. */
  fanOutQueueSettings?: Readonly<FanOutQueueSettings>;
  /** The KMS key that wraps webhook secrets' data keys: see StreamsStack.grantWebhookSecrets. */
  webhookSecretsKey?: IKey;
}

/** Alarm thresholds (all compared with ">"). IteratorAge is in milliseconds. */
export const STREAM_ALARMS = {
  iteratorAge: { thresholdMs: 60_000, periodMinutes: 1, evaluationPeriods: 3 },
  errors: { threshold: 0, periodMinutes: 5, evaluationPeriods: 1 },
  deadLetters: { threshold: 0, periodMinutes: 1, evaluationPeriods: 1 },
  /** Delivery messages that gave up after maxReceiveCount receives. */
  deliveryDeadLetters: { threshold: 0, periodMinutes: 1, evaluationPeriods: 1 },
  /**
   * The oldest delivery message, in seconds: a round of attempts takes about a minute (5
   * attempts, backoff up to 8 s, 5 s timeout), so 15 minutes means the consumer is not keeping up.
   */
  deliveryAge: { thresholdSeconds: 900, periodMinutes: 5, evaluationPeriods: 1 },
  /** Invocations of the delivery consumer that failed as a whole (a failed attempt is not one). */
  deliveryErrors: { threshold: 0, periodMinutes: 5, evaluationPeriods: 1 },
  /** Fan-out wake-ups that gave up after maxReceiveCount receives: their jobs wait until redriven or the parent's next edit. */
  fanOutDeadLetters: { threshold: 0, periodMinutes: 1, evaluationPeriods: 1 },
  /** The oldest wake-up, in seconds: each is delayed about a second, so 5 minutes means the consumer is not keeping up. */
  fanOutAge: { thresholdSeconds: 300, periodMinutes: 5, evaluationPeriods: 1 },
  /** Invocations of the fan-out consumer that failed as a whole. */
  fanOutErrors: { threshold: 0, periodMinutes: 5, evaluationPeriods: 1 },
} as const;

/** Statements the delivery consumer needs on the table: read a delivery and its webhook, update them. */
export const DELIVERY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'] as const;

/** The fan-out consumer on the table: read the job and its parent, write the job's wait (conditionally). */
export const FANOUT_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'] as const;

/** A consumer's event source mapping: batches, bounded concurrency and partial batch failures, from its queue settings. */
function consumerEventSource(queue: Queue, settings: Readonly<DeliveryQueueSettings>): SqsEventSource {
  return new SqsEventSource(queue, {
    batchSize: settings.batchSize,
    maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
    maxConcurrency: settings.maximumConcurrency,
    reportBatchItemFailures: settings.reportBatchItemFailures,
    enabled: true,
  });
}

/**
 * What the delivery consumer may do with the webhook secrets key: Decrypt opens a sealed secret to
 * sign; GenerateDataKey seals, in place, a secret stored before encryption (openWebhookSecrets).
 */
export const DELIVERY_KMS_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;

const INSERT_OR_MODIFY = new Set(['INSERT', 'MODIFY']);

/**
 * Lambda event filters from the settings. Filters are OR'ed, fields inside one filter AND'ed:
 * INSERT/MODIFY records match on the new image's entity, REMOVE records (which have no new
 * image) on the old image's. An item's entity never changes, so this is "eventName in
 * eventNames AND entity in entities".
 */
export function streamFilters(settings: Readonly<StreamSettings>): Array<Record<string, unknown>> {
  const entity = { entity: { S: FilterRule.or(...settings.entities) } };
  const withNewImage = settings.eventNames.filter((e) => INSERT_OR_MODIFY.has(e));
  const withOldImage = settings.eventNames.filter((e) => !INSERT_OR_MODIFY.has(e));
  const filters: Array<Record<string, unknown>> = [];
  if (withNewImage.length > 0) {
    filters.push(FilterCriteria.filter({ eventName: FilterRule.or(...withNewImage), dynamodb: { NewImage: entity } }));
  }
  if (withOldImage.length > 0) {
    filters.push(FilterCriteria.filter({ eventName: FilterRule.or(...withOldImage), dynamodb: { OldImage: entity } }));
  }
  return filters;
}

/** The event source mapping's options: nothing here that is not read from the settings. */
export function eventSourceProps(settings: Readonly<StreamSettings>, onFailure: IEventSourceDlq): DynamoEventSourceProps {
  return {
    startingPosition: StartingPosition[settings.startingPosition],
    batchSize: settings.batchSize,
    maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
    retryAttempts: settings.retryAttempts,
    bisectBatchOnError: settings.bisectBatchOnFunctionError,
    reportBatchItemFailures: settings.reportBatchItemFailures,
    maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds),
    parallelizationFactor: settings.parallelizationFactor,
    filters: streamFilters(settings),
    onFailure,
    enabled: true,
  };
}

export class StreamsStack extends Stack {
  readonly processor: HouseFunction;
  readonly eventBus: EventBus;
  readonly deadLetterQueue: Queue;
  readonly eventSource: DynamoEventSource;
  readonly alarmTopic: Topic;
  readonly alarms: {
    iteratorAge: cloudwatch.Alarm;
    errors: cloudwatch.Alarm;
    deadLetters: cloudwatch.Alarm;
    deliveryDeadLetters: cloudwatch.Alarm;
    deliveryAge: cloudwatch.Alarm;
    deliveryErrors: cloudwatch.Alarm;
    fanOutDeadLetters: cloudwatch.Alarm;
    fanOutAge: cloudwatch.Alarm;
    fanOutErrors: cloudwatch.Alarm;
  };
  readonly deliveryQueue: Queue;
  readonly deliveryDeadLetterQueue: Queue;
  readonly deliveryConsumer: HouseFunction;
  readonly deliveryEventSource: SqsEventSource;
  readonly fanOutQueue: Queue;
  readonly fanOutDeadLetterQueue: Queue;
  readonly fanOutConsumer: HouseFunction;
  readonly fanOutEventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: StreamsStackProps) {
    super(scope, id, props);
    // Table name and stream ARN come from the data stack through strong exports, as for the API.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const settings = props.streamSettings ?? STREAM_SETTINGS;
    const queueSettings = props.deliveryQueueSettings ?? DELIVERY_QUEUE_SETTINGS;
    const fanOutSettings = props.fanOutQueueSettings ?? FANOUT_QUEUE_SETTINGS;
    const table = props.table;

    // --- Integration events: a bus other AWS services subscribe to with their own rules ------
    this.eventBus = new EventBus(this, 'EventBus', {
      eventBusName: `${SERVICE_NAME}-${props.stage}`,
      description: `${SERVICE_NAME} ${props.stage}: card, record and connection events from the stream processor`,
    });

    // --- Where records go after the last retry (or when too old) ------------------------------
    // For a stream source the message is the failed batch's metadata (shard, sequence numbers),
    // not the records: replay reads them from the stream, which keeps them for 24 hours.
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          "This queue IS the dead-letter destination: it is the stream event source mapping's on-failure destination. A dead-letter queue of a dead-letter queue would only move the problem; the DeadLetters alarm fires on its first message.",
      },
    ]);

    // --- Webhook deliveries: a fair queue (message group = organization) and its DLQ ----------
    ({ queue: this.deliveryQueue, deadLetterQueue: this.deliveryDeadLetterQueue } = this.consumerQueue(
      'Deliveries',
      'DeliveryDeadLetters',
      queueSettings,
      removalPolicy,
      "This queue IS the delivery queue's dead-letter queue (redrive after maxReceiveCount receives). Its messages name a delivery still pending in the log; the DeliveryDeadLetters alarm fires on the first, and a redrive moves them back.",
    ));

    // --- Fan-out wake-ups: a delay queue (message group = organization) and its DLQ ----------
    ({ queue: this.fanOutQueue, deadLetterQueue: this.fanOutDeadLetterQueue } = this.consumerQueue(
      'FanOutWakeups',
      'FanOutDeadLetters',
      fanOutSettings,
      removalPolicy,
      "This queue IS the fan-out queue's dead-letter queue (redrive after maxReceiveCount receives). Its messages name a fan-out job still waiting; the FanOutDeadLetters alarm fires on the first, and a redrive (or the parent's next edit) finishes the job.",
    ));

    // --- The processor ------------------------------------------------------------------------
    this.processor = new HouseFunction(this, 'Processor', {
      entry: 'functions/streams/processor.ts',
      handler: 'handler',
      description: `${SERVICE_NAME} ${props.stage} table stream processor`,
      memorySize: 1024,
      timeout: Duration.seconds(60),
      environment: {
        TABLE_NAME: table.tableName,
        EVENT_BUS_NAME: this.eventBus.eventBusName,
        DELIVERY_QUEUE_URL: this.deliveryQueue.queueUrl,
        FANOUT_QUEUE_URL: this.fanOutQueue.queueUrl,
      },
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      logRemovalPolicy: removalPolicy,
    });
    const fn = this.processor.function;
    // Items and indexes exactly as an RW route function: no Scan, no table management.
    bindTable(fn, table, 'RW');
    this.eventBus.grantPutEventsTo(fn);
    // The processor only enqueues deliveries and wake-ups (a waiting job's own record); it never receives them.
    this.deliveryQueue.grantSendMessages(fn);
    this.fanOutQueue.grantSendMessages(fn);

    this.eventSource = new DynamoEventSource(table, eventSourceProps(settings, new SqsDlq(this.deadLetterQueue)));
    // Adds the mapping, the stream read grant (TableV2.grantStreamRead: DescribeStream,
    // GetRecords, GetShardIterator and ListStreams, all on this table's stream ARN) and
    // SendMessage on the dead-letter queue. No wildcard resource is granted.
    fn.addEventSource(this.eventSource);

    // --- The delivery consumer ---------------------------------------------------------------
    this.deliveryConsumer = new HouseFunction(this, 'DeliveryConsumer', {
      entry: 'functions/deliveries/consumer.ts',
      handler: 'handler',
      description: `${SERVICE_NAME} ${props.stage} webhook delivery consumer`,
      memorySize: 512,
      timeout: Duration.seconds(DELIVERY_CONSUMER_TIMEOUT_SECONDS),
      environment: { TABLE_NAME: table.tableName, DELIVERY_QUEUE_URL: this.deliveryQueue.queueUrl },
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      logRemovalPolicy: removalPolicy,
    });
    const consumer = this.deliveryConsumer.function;
    // Reads a delivery and its webhook, records the attempt and the webhook's health: two item
    // actions on the table, no query, no index, no delete.
    consumer.addToRolePolicy(new iam.PolicyStatement({ actions: [...DELIVERY_TABLE_ACTIONS], resources: [table.tableArn] }));
    this.deliveryEventSource = consumerEventSource(this.deliveryQueue, queueSettings);
    // Adds the mapping and the consume grant (ReceiveMessage, DeleteMessage,
    // ChangeMessageVisibility — the retry backoff — and GetQueueAttributes/GetQueueUrl) on this
    // queue only.
    consumer.addEventSource(this.deliveryEventSource);
    // A throttled message (its organization has every attempt slot in flight) is sent again with
    // a short delay: the consumer sends to its own queue, nowhere else.
    this.deliveryQueue.grantSendMessages(consumer);
    if (props.webhookSecretsKey) this.grantWebhookSecrets(props.webhookSecretsKey);

    // --- The fan-out wake-up consumer -----------------------------------------------------------
    this.fanOutConsumer = new HouseFunction(this, 'FanOutConsumer', {
      entry: 'functions/fanout/consumer.ts',
      handler: 'handler',
      description: `${SERVICE_NAME} ${props.stage} fan-out wake-up consumer (coalescing)`,
      memorySize: 256,
      timeout: Duration.seconds(FANOUT_CONSUMER_TIMEOUT_SECONDS),
      environment: { TABLE_NAME: table.tableName, FANOUT_QUEUE_URL: this.fanOutQueue.queueUrl },
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      logRemovalPolicy: removalPolicy,
    });
    const wakeConsumer = this.fanOutConsumer.function;
    // Reads a job and its parent, writes the job's wait: two item actions, no query, no index, no delete.
    wakeConsumer.addToRolePolicy(new iam.PolicyStatement({ actions: [...FANOUT_TABLE_ACTIONS], resources: [table.tableArn] }));
    this.fanOutEventSource = consumerEventSource(this.fanOutQueue, fanOutSettings);
    // The mapping and the consume grant on this queue only (ChangeMessageVisibility puts an early
    // wake-up back). It sends nothing: the next wake-up is sent by the job's stream record.
    wakeConsumer.addEventSource(this.fanOutEventSource);

    // --- Alarms ------------------------------------------------------------------------------
    // Customer managed key: CloudWatch cannot use the AWS managed aws/sns key to publish.
    const alarmKey = new Key(this, 'AlarmTopicKey', {
      description: `${SERVICE_NAME} ${props.stage} stream alarm topic`,
      enableKeyRotation: true,
      removalPolicy,
    });
    alarmKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: `${SERVICE_NAME} ${props.stage} stream alarms`,
      masterKey: alarmKey,
      enforceSSL: true,
    });
    // A topic policy replaces the default one: let this account's alarms publish explicitly.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` },
          StringEquals: { 'aws:SourceAccount': this.account },
        },
      }),
    );
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const notify = new SnsAction(this.alarmTopic);

    const { iteratorAge, errors, deadLetters } = STREAM_ALARMS;
    this.alarms = {
      iteratorAge: this.alarmAbove(
        'IteratorAgeAlarm',
        `${SERVICE_NAME} ${props.stage}: the table stream processor is more than ${iteratorAge.thresholdMs / 1000} s behind`,
        fn.metric('IteratorAge', {
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(iteratorAge.periodMinutes),
        }),
        iteratorAge.thresholdMs,
        iteratorAge.evaluationPeriods,
      ),
      errors: this.alarmAbove(
        'ErrorsAlarm',
        `${SERVICE_NAME} ${props.stage}: the table stream processor failed whole invocations (crash, timeout or every record of a batch failed)`,
        fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(errors.periodMinutes) }),
        errors.threshold,
        errors.evaluationPeriods,
      ),
      deadLetters: this.alarmAbove(
        'DeadLettersAlarm',
        `${SERVICE_NAME} ${props.stage}: stream records gave up after their retries and are in the dead-letter queue (replay within 24 h, while the stream still has them)`,
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(deadLetters.periodMinutes),
        }),
        deadLetters.threshold,
        deadLetters.evaluationPeriods,
      ),
      deliveryDeadLetters: this.alarmAbove(
        'DeliveryDeadLettersAlarm',
        `${SERVICE_NAME} ${props.stage}: webhook delivery messages gave up after ${queueSettings.maxReceiveCount} receives; their deliveries stay pending until the dead-letter queue is redriven`,
        this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(STREAM_ALARMS.deliveryDeadLetters.periodMinutes),
        }),
        STREAM_ALARMS.deliveryDeadLetters.threshold,
        STREAM_ALARMS.deliveryDeadLetters.evaluationPeriods,
      ),
      deliveryAge: this.alarmAbove(
        'DeliveryAgeAlarm',
        `${SERVICE_NAME} ${props.stage}: the oldest webhook delivery message waited more than ${STREAM_ALARMS.deliveryAge.thresholdSeconds / 60} min (the consumer is not keeping up)`,
        this.deliveryQueue.metricApproximateAgeOfOldestMessage({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(STREAM_ALARMS.deliveryAge.periodMinutes),
        }),
        STREAM_ALARMS.deliveryAge.thresholdSeconds,
        STREAM_ALARMS.deliveryAge.evaluationPeriods,
      ),
      deliveryErrors: this.alarmAbove(
        'DeliveryErrorsAlarm',
        `${SERVICE_NAME} ${props.stage}: the webhook delivery consumer failed whole invocations (crash or timeout)`,
        consumer.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(STREAM_ALARMS.deliveryErrors.periodMinutes) }),
        STREAM_ALARMS.deliveryErrors.threshold,
        STREAM_ALARMS.deliveryErrors.evaluationPeriods,
      ),
      fanOutDeadLetters: this.alarmAbove(
        'FanOutDeadLettersAlarm',
        `${SERVICE_NAME} ${props.stage}: fan-out wake-ups gave up after ${fanOutSettings.maxReceiveCount} receives; their jobs wait (children at an older value) until the dead-letter queue is redriven or the parent changes again`,
        this.fanOutDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(STREAM_ALARMS.fanOutDeadLetters.periodMinutes),
        }),
        STREAM_ALARMS.fanOutDeadLetters.threshold,
        STREAM_ALARMS.fanOutDeadLetters.evaluationPeriods,
      ),
      fanOutAge: this.alarmAbove(
        'FanOutAgeAlarm',
        `${SERVICE_NAME} ${props.stage}: the oldest fan-out wake-up waited more than ${STREAM_ALARMS.fanOutAge.thresholdSeconds / 60} min (the consumer is not keeping up)`,
        this.fanOutQueue.metricApproximateAgeOfOldestMessage({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(STREAM_ALARMS.fanOutAge.periodMinutes),
        }),
        STREAM_ALARMS.fanOutAge.thresholdSeconds,
        STREAM_ALARMS.fanOutAge.evaluationPeriods,
      ),
      fanOutErrors: this.alarmAbove(
        'FanOutErrorsAlarm',
        `${SERVICE_NAME} ${props.stage}: the fan-out wake-up consumer failed whole invocations (crash or timeout)`,
        wakeConsumer.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(STREAM_ALARMS.fanOutErrors.periodMinutes) }),
        STREAM_ALARMS.fanOutErrors.threshold,
        STREAM_ALARMS.fanOutErrors.evaluationPeriods,
      ),
    };
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName, description: 'integration events' });
    new CfnOutput(this, 'EventBusArn', { value: this.eventBus.eventBusArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl, description: 'stream records that exhausted their retries' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'subscribe on-call here' });
    new CfnOutput(this, 'ProcessorFunctionName', { value: fn.functionName });
    new CfnOutput(this, 'DeliveryQueueUrl', { value: this.deliveryQueue.queueUrl, description: 'webhook deliveries (fair queue, group = organization)' });
    new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', {
      value: this.deliveryDeadLetterQueue.queueUrl,
      description: 'delivery messages past maxReceiveCount; redrive to the delivery queue',
    });
    new CfnOutput(this, 'FanOutQueueUrl', { value: this.fanOutQueue.queueUrl, description: 'fan-out wake-ups (delay queue, group = organization)' });
    new CfnOutput(this, 'FanOutDeadLetterQueueUrl', {
      value: this.fanOutDeadLetterQueue.queueUrl,
      description: 'fan-out wake-ups past maxReceiveCount; redrive to the fan-out queue',
    });
  }

  /** A consumer's queue and its dead-letter queue, from the settings the local queue reads too. */
  private consumerQueue(
    id: string,
    deadLetterId: string,
    settings: Readonly<DeliveryQueueSettings>,
    removalPolicy: RemovalPolicy,
    /** Why the dead-letter queue has no dead-letter queue of its own (cdk-nag AwsSolutions-SQS3). */
    deadLetterReason: string,
  ): { queue: Queue; deadLetterQueue: Queue } {
    const deadLetterQueue = new Queue(this, deadLetterId, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(settings.deadLetterRetentionSeconds),
      removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(deadLetterQueue, [{ id: 'AwsSolutions-SQS3', reason: deadLetterReason }]);
    const queue = new Queue(this, id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(settings.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(settings.retentionSeconds),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
      removalPolicy,
    });
    return { queue, deadLetterQueue };
  }

  /** An alarm when `metric` is above `threshold` for `evaluationPeriods` periods; no data is no alarm. */
  private alarmAbove(id: string, alarmDescription: string, metric: cloudwatch.IMetric, threshold: number, evaluationPeriods: number): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmDescription,
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * Plugs in the key webhook secrets are sealed with (SECRETS_KMS_KEY_ID, functions/shared/secrets.ts):
   * the delivery consumer is the only stream-side function that opens secrets (to sign), so it alone
   * gets the key id and DELIVERY_KMS_ACTIONS on that key, and only for data keys whose encryption
   * context is the webhook-secret purpose (the org varies, the purpose does not). The processor
   * gets nothing: it never signs. Whoever owns the key calls this (or passes webhookSecretsKey).
   */
  grantWebhookSecrets(key: IKey): void {
    const consumer = this.deliveryConsumer.function;
    consumer.addEnvironment('SECRETS_KMS_KEY_ID', key.keyArn);
    consumer.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...DELIVERY_KMS_ACTIONS],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:purpose': WEBHOOK_SECRET_PURPOSE } },
      }),
    );
  }
}
