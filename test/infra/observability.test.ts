/**
 * Observability in AWS: every function traces actively; the stage's dashboard; alarms on API 5xx
 * rate, p99 latency, each function's errors and throttles, DynamoDB throttled requests, stream
 * iterator age and dead-letter depth, all notifying the stage's alarm topic (on alarm and on
 * recovery). Functions, queues and alarms of the other stacks are found, not listed: one added
 * there (a webhook delivery queue and its DLQ) is on the dashboard without a change here.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { apiAreas } from '../../functions/api/areas';
import { METRIC, METRICS_NAMESPACE } from '../../functions/shared/metrics';
import { XRAY_WRITE_ACTIONS } from '../../infra/stacks/house-function';
import { ALARMS } from '../../infra/stacks/observability-stack';
import { buildStacks, resourcesOf, type CfnResource } from './synth';

const stacks = buildStacks();
const templates = {
  api: Template.fromStack(stacks.api),
  streams: Template.fromStack(stacks.streams),
  observability: Template.fromStack(stacks.observability),
};
const obs = templates.observability;
const alarms = resourcesOf(obs, 'AWS::CloudWatch::Alarm');
const streamAlarms = resourcesOf(templates.streams, 'AWS::CloudWatch::Alarm');
const allAlarms = { ...alarms, ...streamAlarms };
const alarmOn = (metricName: string, within: Record<string, CfnResource> = allAlarms) =>
  Object.values(within).filter(
    (a) => a.Properties!.MetricName === metricName || JSON.stringify(a.Properties!.Metrics ?? []).includes(`"MetricName":"${metricName}"`),
  );
const topicOutput = (a: CfnResource) => JSON.stringify(a.Properties!.AlarmActions);

describe('tracing', () => {
  it.each(['api', 'streams'] as const)('every function in the %s stack traces actively and may write traces', (key) => {
    const functions = Object.entries(resourcesOf(templates[key], 'AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(0);
    for (const [id, fn] of functions) {
      expect(fn.Properties!.TracingConfig, id).toEqual({ Mode: 'Active' });
      const roleId = fn.Properties!.Role['Fn::GetAtt'][0] as string;
      const role = resourcesOf(templates[key], 'AWS::IAM::Role')[roleId]!;
      expect(role.Properties!.Policies).toEqual([
        {
          PolicyName: 'XRayWrite',
          PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: [...XRAY_WRITE_ACTIONS].sort(), Resource: '*' }] },
        },
      ]);
    }
  });
});

describe('alarms', () => {
  it('API 5xx rate above 1% over two 5-minute periods', () => {
    const [alarm] = alarmOn('5xx', alarms);
    expect(alarm).toBeDefined();
    expect(alarm!.Properties).toMatchObject({
      Threshold: ALARMS.api5xxRatePercent.threshold,
      EvaluationPeriods: 2,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(JSON.stringify(alarm!.Properties!.Metrics)).toContain('100 * FILL(errors, 0) / requests');
  });

  it('API p99 latency', () => {
    const latency = alarmOn('Latency', alarms);
    expect(latency).toHaveLength(1);
    expect(latency[0]!.Properties).toMatchObject({ Namespace: 'AWS/ApiGateway', ExtendedStatistic: 'p99', Threshold: ALARMS.apiP99LatencyMs.threshold });
  });

  it('errors and throttles of every API area function and the authorizer', () => {
    const expected = apiAreas().length + 1;
    const watched = (metric: string) => new Set(alarmOn(metric, alarms).map((a) => JSON.stringify(a.Properties!.Dimensions)));
    expect(watched('Errors').size).toBe(expected);
    // + the streams stack's functions, whose errors that stack alarms on itself
    const streamFunctions = Object.keys(resourcesOf(templates.streams, 'AWS::Lambda::Function')).length;
    expect(watched('Throttles').size).toBe(expected + streamFunctions);
    expect(alarmOn('Errors', streamAlarms)).toHaveLength(streamFunctions);
  });

  it('DynamoDB throttled reads and writes on the table and every index', () => {
    const [alarm] = Object.values(alarms).filter((a) => JSON.stringify(a.Properties!.Metrics ?? []).includes('ThrottleEvents'));
    const metrics = JSON.stringify(alarm!.Properties!.Metrics);
    expect(metrics).toContain('ReadThrottleEvents');
    expect(metrics).toContain('WriteThrottleEvents');
    expect(metrics).toContain('GlobalSecondaryIndexName');
  });

  it('stream iterator age and dead-letter depth (streams stack)', () => {
    expect(alarmOn('IteratorAge', streamAlarms)).toHaveLength(1);
    expect(alarmOn('ApproximateNumberOfMessagesVisible', streamAlarms).length).toBeGreaterThanOrEqual(1);
  });

  it('every alarm of every stack notifies the alarm topic on alarm and on recovery, and missing data is not an alarm', () => {
    const topicId = Object.keys(resourcesOf(templates.streams, 'AWS::SNS::Topic'))[0]!;
    for (const [id, alarm] of Object.entries(allAlarms)) {
      expect(alarm.Properties!.AlarmActions, id).toHaveLength(1);
      expect(alarm.Properties!.OKActions, id).toEqual(alarm.Properties!.AlarmActions);
      expect(alarm.Properties!.TreatMissingData, id).toBe('notBreaching');
      if (id in alarms) expect(topicOutput(alarm), id).toContain('Fn::GetStackOutput');
      expect(topicOutput(alarm).includes(topicId) || topicOutput(alarm).includes('AlarmTopic'), id).toBe(true);
    }
  });
});

describe('dashboard', () => {
  const dashboards = Object.values(resourcesOf(obs, 'AWS::CloudWatch::Dashboard'));
  // The body is a Fn::Join of JSON text and references: the text with each reference inlined.
  const parts = dashboards[0]?.Properties!.DashboardBody['Fn::Join'][1] as unknown[];
  const body = parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');

  it('one per stage, named after it', () => {
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.Properties!.DashboardName).toBe('cardflow-dev');
  });

  it('shows API traffic, latency, function health, table throttling, iterator age, queues and every alarm', () => {
    for (const text of [
      '5xx rate',
      'p99',
      'Invocations per function',
      'Throttles per function',
      'ReadThrottleEvents',
      'IteratorAge',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body, text).toContain(text);
    }
    for (const id of Object.keys(allAlarms)) expect(body, id).toContain(id);
  });

  it('shows the handler metrics of functions/shared/metrics.ts', () => {
    for (const name of [METRIC.apiErrors, METRIC.apiLatency, METRIC.propagationLag, METRIC.webhookDeliveries, METRIC.automationRuns]) {
      expect(body).toContain(`MetricName=\\"${name}\\"`);
    }
    expect(body).toContain(`{${METRICS_NAMESPACE},`);
  });

  it('reads the other stacks through weak references: no export the API or streams stack would have to keep', () => {
    for (const key of ['api', 'streams'] as const) {
      const outputs = Object.values((templates[key].toJSON().Outputs ?? {}) as Record<string, { Export?: unknown }>);
      expect(outputs.filter((o) => o.Export)).toEqual([]);
    }
  });
});
