/**
 * Webhook configuration, read once per container from the environment (all optional):
 *
 * - WEBHOOK_ALLOW_LOOPBACK=true: webhook URLs may point at localhost over http, and deliveries
 *   may connect to 127.0.0.0/8 and ::1 (local runs and tests only; never set by the CDK — an infra
 *   test checks — since in Lambda loopback is the runtime API).
 * - WEBHOOK_MAX_ATTEMPTS, WEBHOOK_TIMEOUT_MS, WEBHOOK_BACKOFF_BASE_MS, WEBHOOK_BACKOFF_MAX_MS,
 *   WEBHOOK_BREAKER_THRESHOLD: the delivery policy (defaults in domain/webhooks/webhooks.ts).
 * - WEBHOOK_ORG_CONCURRENCY: attempts of one organization in flight at once (default 5).
 * - DELIVERY_QUEUE_URL: the webhook delivery queue (functions/deliveries/queue.ts).
 * - EVENT_BUS_NAME: the EventBridge bus that receives every event (unset: no bus).
 */
import { DEFAULT_DELIVERY_POLICY, type DeliveryPolicy, type UrlPolicy } from '../../domain/webhooks/webhooks';

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`Environment variable ${name} must be a non-negative integer, not ${raw}`);
  return value;
}

export const urlPolicy: UrlPolicy = { allowLoopback: process.env['WEBHOOK_ALLOW_LOOPBACK'] === 'true' };

export const deliveryPolicy: DeliveryPolicy = {
  ...DEFAULT_DELIVERY_POLICY,
  maxAttempts: Math.max(1, positiveInt('WEBHOOK_MAX_ATTEMPTS', DEFAULT_DELIVERY_POLICY.maxAttempts)),
  timeoutMs: positiveInt('WEBHOOK_TIMEOUT_MS', DEFAULT_DELIVERY_POLICY.timeoutMs),
  backoffBaseMs: positiveInt('WEBHOOK_BACKOFF_BASE_MS', DEFAULT_DELIVERY_POLICY.backoffBaseMs),
  backoffMaxMs: positiveInt('WEBHOOK_BACKOFF_MAX_MS', DEFAULT_DELIVERY_POLICY.backoffMaxMs),
  breakerThreshold: Math.max(1, positiveInt('WEBHOOK_BREAKER_THRESHOLD', DEFAULT_DELIVERY_POLICY.breakerThreshold)),
};

/**
 * Attempts of one organization in flight at once, across every consumer invocation: past it, a
 * delivery message is sent again with a short delay instead of attempting (one tenant's hanging
 * receiver cannot hold every consumer slot).
 */
export const attemptsPerOrganization = Math.max(1, positiveInt('WEBHOOK_ORG_CONCURRENCY', 5));

export const eventBusName = process.env['EVENT_BUS_NAME'] || undefined;
