/**
 * cardflow's CloudWatch metrics, written as Embedded Metric Format (EMF) log lines by Powertools
 * Metrics. CloudWatch turns each line into metric values; locally (`npm start`) the same lines go
 * to stdout. The names below are the contract with the dashboard and alarms in infra/stacks:
 * change them there too.
 *
 * Namespace `cardflow`. Every metric carries the dimension `service` = `cardflow` (Powertools
 * adds it), plus:
 *
 * | metric                  | unit         | dimensions        | emitted by                                   |
 * |-------------------------|--------------|-------------------|----------------------------------------------|
 * | ApiRequests             | Count        | service, route    | every API invocation (route = manifest id)   |
 * | ApiClientErrors         | Count        | service, route    | 4xx answers (0 otherwise)                    |
 * | ApiErrors               | Count        | service, route    | 5xx answers (0 otherwise)                    |
 * | ApiLatency              | Milliseconds | service, route    | handler time, parse to response              |
 * | PropagationLag          | Milliseconds | service           | parent's write (updatedAt) → its children written |
 * | ChildrenWritten         | Count        | service           | child items updated by one propagation step  |
 * | WebhookDeliveries       | Count        | service, outcome  | one per attempt or decision (WEBHOOK_OUTCOMES) |
 * | AutomationRuns          | Count        | service, outcome  | one per fresh run (AUTOMATION_OUTCOMES)      |
 * | AutomationRefusals      | Count        | service           | runs refused or skipped (loop guard, limits) |
 *
 * A fresh Metrics instance per unit of work (one request, one step): Lambda runs one request per
 * container at a time, but the local gateway runs many in one process, and a shared instance
 * would mix their dimensions. POWERTOOLS_METRICS_DISABLED=true silences all of it (tests).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

export const METRICS_NAMESPACE = 'cardflow';
/** The value of the `service` dimension Powertools adds to every metric. */
export const METRICS_SERVICE = 'cardflow';

export const METRIC = {
  apiRequests: 'ApiRequests',
  apiClientErrors: 'ApiClientErrors',
  apiErrors: 'ApiErrors',
  apiLatency: 'ApiLatency',
  propagationLag: 'PropagationLag',
  childrenWritten: 'ChildrenWritten',
  webhookDeliveries: 'WebhookDeliveries',
  automationRuns: 'AutomationRuns',
  automationRefusals: 'AutomationRefusals',
} as const;

export const DIMENSION = { service: 'service', route: 'route', outcome: 'outcome' } as const;

/**
 * succeeded: the receiver answered 2xx. retrying: an attempt failed, another is scheduled.
 * failed: the last attempt of the round failed (or the breaker is open). abandoned: the webhook
 * was disabled or deleted before the attempt. enqueued: sent to the delivery queue by the stream
 * (a new delivery, a redelivery, or a replay whose first send may not have happened). throttled: the
 * organization had all its attempt slots in flight; the message was sent again with a delay.
 */
export const WEBHOOK_OUTCOMES = ['succeeded', 'retrying', 'failed', 'abandoned', 'enqueued', 'throttled'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** done: the action ran. skipped: refused (loop guard) or nothing to do. failed: the action threw. */
export const AUTOMATION_OUTCOMES = ['done', 'skipped', 'failed'] as const;
export type AutomationOutcome = (typeof AUTOMATION_OUTCOMES)[number];

/** Where EMF lines go instead of stdout, when set (the local runtime: a file; see setMetricsOutput). */
let output: ((line: string) => void) | undefined;

/**
 * Sends the EMF lines to `write` instead of stdout (undefined: stdout again). In Lambda stdout is
 * the log stream CloudWatch reads the metrics from; `npm start` writes the same lines to a file,
 * so they do not bury the console.
 */
export function setMetricsOutput(write: ((line: string) => void) | undefined): void {
  output = write;
}

class RoutedMetrics extends Metrics {
  override publishStoredMetrics(): this {
    const write = output;
    if (!write) return super.publishStoredMetrics();
    // What Powertools prints, written elsewhere (each instance serves one unit of work, then is dropped).
    if (!this.isDisabled() && this.hasStoredMetrics()) write(JSON.stringify(this.serializeMetrics()));
    return this;
  }
}

const newMetrics = () => new RoutedMetrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

function emit(dimensions: Record<string, string>, values: Array<[name: string, unit: Unit, value: number]>) {
  const metrics = newMetrics();
  for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
  for (const [name, unit, value] of values) metrics.addMetric(name, unit, value);
  metrics.publishStoredMetrics();
}

/** One API invocation: count, 4xx, 5xx and latency under the route's manifest id. */
export function recordApiCall(route: string, status: number, latencyMs: number): void {
  emit({ [DIMENSION.route]: route }, [
    [METRIC.apiRequests, MetricUnit.Count, 1],
    [METRIC.apiClientErrors, MetricUnit.Count, status >= 400 && status < 500 ? 1 : 0],
    [METRIC.apiErrors, MetricUnit.Count, status >= 500 ? 1 : 0],
    [METRIC.apiLatency, MetricUnit.Milliseconds, latencyMs],
  ]);
}

/** One propagation step that wrote children: how many, and how long after the parent's write. */
export function recordPropagation(childrenWritten: number, lagMs: number | undefined): void {
  if (childrenWritten <= 0) return;
  emit({}, [
    [METRIC.childrenWritten, MetricUnit.Count, childrenWritten],
    ...(lagMs !== undefined && Number.isFinite(lagMs) ? [[METRIC.propagationLag, MetricUnit.Milliseconds, Math.max(0, lagMs)] as [string, Unit, number]] : []),
  ]);
}

export function recordWebhookDelivery(outcome: WebhookOutcome, count = 1): void {
  emit({ [DIMENSION.outcome]: outcome }, [[METRIC.webhookDeliveries, MetricUnit.Count, count]]);
}

export function recordAutomationRun(outcome: AutomationOutcome): void {
  emit({ [DIMENSION.outcome]: outcome }, [[METRIC.automationRuns, MetricUnit.Count, 1]]);
  if (outcome === 'skipped') emit({}, [[METRIC.automationRefusals, MetricUnit.Count, 1]]);
}
