/**
 * The EMF lines the handlers write to stdout: CloudWatch turns them into the metrics the
 * dashboard and alarms read (names in functions/shared/metrics.ts).
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DIMENSION, METRIC, METRICS_NAMESPACE, recordWebhookDelivery } from '../../functions/shared/metrics';
import { client, newOrg } from '../support/api';

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

describe('metrics in Embedded Metric Format', () => {
  // The test client reads the served OpenAPI document on its first call (to check every answer
  // against it): make that call now, while metrics are off, so the lines below are the test's own.
  beforeAll(async () => {
    await client(newOrg('metrics-warmup'), 'admin')('listPipes', {});
  });
  let lines: string[];
  beforeEach(() => {
    lines = [];
    // Powertools writes with its own Console on process.stdout (not the global console).
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  const emf = () => lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Emf);

  it('writes one line per API call with count, 4xx, 5xx and latency under the route', async () => {
    const api = client(newOrg('metrics'), 'admin');
    const created = await api('createPipe', { body: { name: 'Metered' } });
    const missing = await api('getPipe', { params: { pipeId: created.body.id.replace(/.$/, created.body.id.endsWith('0') ? '1' : '0') } });
    expect([created.status, missing.status]).toEqual([201, 404]);

    const [ok, notFound] = emf();
    expect(emf()).toHaveLength(2);
    expect(ok!._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [[DIMENSION.service, DIMENSION.route]],
      Metrics: [
        { Name: METRIC.apiRequests, Unit: 'Count' },
        { Name: METRIC.apiClientErrors, Unit: 'Count' },
        { Name: METRIC.apiErrors, Unit: 'Count' },
        { Name: METRIC.apiLatency, Unit: 'Milliseconds' },
      ],
    });
    expect(ok).toMatchObject({ service: 'cardflow', route: 'createPipe', ApiRequests: 1, ApiClientErrors: 0, ApiErrors: 0 });
    expect(ok!['ApiLatency']).toBeGreaterThan(0);
    expect(notFound).toMatchObject({ route: 'getPipe', ApiRequests: 1, ApiClientErrors: 1, ApiErrors: 0 });
  });

  it('writes webhook outcomes with the outcome dimension', () => {
    recordWebhookDelivery('retrying');
    expect(emf()).toEqual([
      expect.objectContaining({
        outcome: 'retrying',
        WebhookDeliveries: 1,
        _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Dimensions: [['service', 'outcome']] })] }),
      }),
    ]);
  });

  it('stays silent when POWERTOOLS_METRICS_DISABLED is true (the test default)', () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    recordWebhookDelivery('succeeded');
    expect(emf()).toEqual([]);
  });
});
