/**
 * What on-call looks at: the stage's CloudWatch dashboard and the alarms the other stacks do
 * not already own — API 5xx rate and p99 latency, every API function's (and the authorizer's)
 * errors and throttles, DynamoDB throttled requests on the table and its indexes — each
 * notifying the stage's alarm topic (streams stack; e-mail subscription from infra/stages.ts)
 * on alarm and on recovery. Missing data is never an alarm.
 *
 * Generic on purpose: the stack takes lists — functions, queues, alarms — rather than knowing
 * the other stacks. cardflow.ts hands it every Lambda function, every SQS queue and every alarm
 * it finds in the API and streams stacks, so a queue or alarm added there (the stream
 * dead-letter queue, the webhook delivery queue and its DLQ) shows up on the dashboard with no
 * change here: queue depth and age of the oldest message per queue, alarm states in one widget.
 * Stream iterator age, processor errors and DLQ depth alarms live next to what they watch, in
 * the streams stack.
 *
 * A stack of its own, consuming the others through WEAK references (Fn::GetStackOutput, no
 * export/import pair): monitoring never blocks a deploy of what it monitors (an exported
 * function name cannot change while imported), and it can be deployed, changed or removed on
 * its own. Its dependencies still order it after them.
 *
 * Traces: API Gateway HTTP APIs have no X-Ray integration on the stage (only REST APIs do);
 * every function traces actively (HouseFunction), so a trace starts at the Lambda invocation.
 */
import { CfnOutput, CrossStackReferences, Duration, ReferenceStrength, Stack, type StackProps } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TABLE_DEFINITION } from '../../domain/kernel/table';
import { DIMENSION, METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '../../functions/shared/metrics';
import { SERVICE_NAME } from './house-function';

/** Thresholds (all compared with ">"), periods in minutes. */
export const ALARMS = {
  api5xxRatePercent: { threshold: 1, periodMinutes: 5, evaluationPeriods: 2 },
  apiP99LatencyMs: { threshold: 2_000, periodMinutes: 5, evaluationPeriods: 3 },
  functionErrors: { threshold: 0, periodMinutes: 5, evaluationPeriods: 1 },
  functionThrottles: { threshold: 0, periodMinutes: 5, evaluationPeriods: 1 },
  tableThrottles: { threshold: 0, periodMinutes: 5, evaluationPeriods: 1 },
} as const;

export interface ObservabilityStackProps extends StackProps {
  stage: string;
  api: IHttpApi;
  table: ITable;
  /** Every alarm here notifies this topic. */
  alarmTopic: ITopic;
  /** Label → function: each gets an errors and a throttles alarm and a line on the dashboard. */
  functions: Record<string, IFunction>;
  /** Functions whose errors another stack already alarms on (they keep the throttles alarm). */
  errorsAlarmedElsewhere?: IFunction[];
  /** Label → queue: depth and age of the oldest message on the dashboard. */
  queues?: Record<string, IQueue>;
  /** Alarms of the other stacks, shown with this stack's in the dashboard's alarm widget. */
  otherAlarms?: cloudwatch.IAlarm[];
  /** Functions with a stream event source: iterator age on the dashboard. */
  streamConsumers?: Record<string, IFunction>;
}

const minutes = (n: number) => Duration.minutes(n);
const FIVE_MINUTES = minutes(5);

/** Read and write throttle events of the table and of each GSI (on-demand tables throttle too). */
export function tableThrottleMetric(table: ITable, periodMinutes: number): cloudwatch.IMetric {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  const add = (key: string, metricName: string, extra: Record<string, string> = {}) => {
    usingMetrics[key] = new cloudwatch.Metric({
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensionsMap: { TableName: table.tableName, ...extra },
      statistic: cloudwatch.Stats.SUM,
      period: minutes(periodMinutes),
    });
  };
  add('tr', 'ReadThrottleEvents');
  add('tw', 'WriteThrottleEvents');
  TABLE_DEFINITION.globalSecondaryIndexes.forEach((gsi, i) => {
    add(`ir${i}`, 'ReadThrottleEvents', { GlobalSecondaryIndexName: gsi.indexName });
    add(`iw${i}`, 'WriteThrottleEvents', { GlobalSecondaryIndexName: gsi.indexName });
  });
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((k) => `FILL(${k}, 0)`)
      .join(' + '),
    usingMetrics,
    label: 'Throttled requests (table and indexes)',
    period: minutes(periodMinutes),
  });
}

/** A custom metric of functions/shared/metrics.ts, one line per value of `by` (a SEARCH). */
function customSearch(metricName: string, by: string | null, statistic: string, label: string): cloudwatch.IMetric {
  const dims = [DIMENSION.service, ...(by ? [by] : [])].join(',');
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},${dims}} MetricName="${metricName}" ${DIMENSION.service}="${METRICS_SERVICE}"', '${statistic}', 300)`,
    label,
    period: FIVE_MINUTES,
  });
}

export class ObservabilityStack extends Stack {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    CrossStackReferences.of(this).consume(ReferenceStrength.WEAK);
    const { api, stage } = props;
    const label = `${SERVICE_NAME} ${stage}`;
    const notify = new SnsAction(props.alarmTopic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      a.addAlarmAction(notify);
      a.addOkAction(notify);
      this.alarms.push(a);
      return a;
    };

    // --- API -----------------------------------------------------------------------------
    const { api5xxRatePercent: r, apiP99LatencyMs: l, tableThrottles: tt, functionErrors: fe, functionThrottles: ft } = ALARMS;
    const requests = api.metricCount({ statistic: cloudwatch.Stats.SUM, period: minutes(r.periodMinutes) });
    const serverErrors = api.metricServerError({ statistic: cloudwatch.Stats.SUM, period: minutes(r.periodMinutes) });
    const errorRate = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      label: '5xx rate (%)',
      period: minutes(r.periodMinutes),
    });
    const p99 = api.metricLatency({ statistic: 'p99', period: minutes(l.periodMinutes) });
    const tableThrottles = tableThrottleMetric(props.table, tt.periodMinutes);

    alarm('Api5xxRateAlarm', {
      alarmDescription: `${label}: more than ${r.threshold}% of API requests answered 5xx`,
      metric: errorRate,
      threshold: r.threshold,
      evaluationPeriods: r.evaluationPeriods,
    });
    alarm('ApiP99LatencyAlarm', {
      alarmDescription: `${label}: API p99 latency above ${l.threshold} ms`,
      metric: p99,
      threshold: l.threshold,
      evaluationPeriods: l.evaluationPeriods,
    });
    alarm('TableThrottlesAlarm', {
      alarmDescription: `${label}: DynamoDB throttled requests on the table or an index`,
      metric: tableThrottles,
      threshold: tt.threshold,
      evaluationPeriods: tt.evaluationPeriods,
    });

    // --- Functions: errors and throttles of each -------------------------------------------
    for (const [name, fn] of Object.entries(props.functions)) {
      const idPart = name.replace(/[^A-Za-z0-9]/g, '');
      if (!props.errorsAlarmedElsewhere?.includes(fn))
        alarm(`${idPart}ErrorsAlarm`, {
          alarmDescription: `${label} ${name}: invocations failed (crash, timeout or unhandled error)`,
          metric: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: minutes(fe.periodMinutes) }),
          threshold: fe.threshold,
          evaluationPeriods: fe.evaluationPeriods,
        });
      alarm(`${idPart}ThrottlesAlarm`, {
        alarmDescription: `${label} ${name}: invocations throttled (account or reserved concurrency reached)`,
        metric: fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: minutes(ft.periodMinutes) }),
        threshold: ft.threshold,
        evaluationPeriods: ft.evaluationPeriods,
      });
    }

    // --- Dashboard ---------------------------------------------------------------------------
    const fns = Object.entries(props.functions);
    const perFunction = (title: string, metric: (fn: IFunction, name: string) => cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({ title, width: 12, left: fns.map(([name, fn]) => metric(fn, name)) });
    const queues = Object.entries(props.queues ?? {});
    const consumers = Object.entries(props.streamConsumers ?? {});

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${SERVICE_NAME}-${stage}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            width: 24,
            height: 4,
            alarms: [...this.alarms, ...(props.otherAlarms ?? [])],
            sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
          }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'API requests and 5xx', width: 12, left: [requests, serverErrors], right: [errorRate] }),
          new cloudwatch.GraphWidget({
            title: 'API latency (ms)',
            width: 12,
            left: [api.metricLatency({ statistic: 'p50', period: FIVE_MINUTES }), api.metricLatency({ statistic: 'p90', period: FIVE_MINUTES }), p99],
            leftAnnotations: [{ value: l.threshold, label: 'p99 alarm' }],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: '5xx answers per route (handler metrics)',
            width: 12,
            left: [customSearch(METRIC.apiErrors, DIMENSION.route, 'Sum', '')],
          }),
          new cloudwatch.GraphWidget({
            title: 'p99 handler latency per route (ms)',
            width: 12,
            left: [customSearch(METRIC.apiLatency, DIMENSION.route, 'p99', '')],
          }),
        ],
        [
          perFunction('Invocations per function', (fn, name) => fn.metricInvocations({ statistic: 'Sum', period: FIVE_MINUTES, label: name })),
          perFunction('Errors per function', (fn, name) => fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES, label: name })),
        ],
        [
          perFunction('p99 duration per function (ms)', (fn, name) => fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES, label: name })),
          perFunction('Throttles per function', (fn, name) => fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES, label: name })),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'DynamoDB throttled requests', width: 8, left: [tableThrottles] }),
          new cloudwatch.GraphWidget({
            title: 'Stream iterator age (ms)',
            width: 8,
            left: consumers.map(([name, fn]) => fn.metric('IteratorAge', { statistic: 'Maximum', period: minutes(1), label: name })),
          }),
          new cloudwatch.GraphWidget({
            title: 'Queues: messages visible (DLQs should be 0)',
            width: 8,
            left: queues.map(([name, q]) => q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minutes(1), label: name })),
            right: queues.map(([name, q]) => q.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: minutes(1), label: `${name} oldest (s)` })),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Propagation: lag p99 (ms) and children written',
            width: 8,
            left: [customSearch(METRIC.propagationLag, null, 'p99', '')],
            right: [customSearch(METRIC.childrenWritten, null, 'Sum', '')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Webhook deliveries by outcome',
            width: 8,
            left: [customSearch(METRIC.webhookDeliveries, DIMENSION.outcome, 'Sum', '')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Automation runs by outcome, refusals',
            width: 8,
            left: [customSearch(METRIC.automationRuns, DIMENSION.outcome, 'Sum', '')],
            right: [customSearch(METRIC.automationRefusals, null, 'Sum', '')],
          }),
        ],
        [
          new cloudwatch.TextWidget({
            width: 24,
            height: 2,
            markdown: `Handler metrics: namespace \`${METRICS_NAMESPACE}\` (functions/shared/metrics.ts). Traces: X-Ray, from each Lambda invocation (HTTP APIs have no stage tracing). Alarms notify the stage's alarm topic (streams stack output AlarmTopicArn).`,
          }),
        ],
      ],
    });

    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboardName });
  }
}
