/**
 * Webhooks: admins subscribe a URL to event types; each event is POSTed to it signed the
 * Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature: `v1,<base64 HMAC>`),
 * retried with exponential backoff a bounded number of times, and logged per webhook.
 *
 * The rules here are pure (URL policy, signing, backoff, the outcome of an attempt); the use
 * cases below them read and write through the WebhookStore.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { nowIso, type UseCaseContext } from '../kernel/context';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '../kernel/errors';
import { EVENT_ID } from './events';
import { newId } from '../kernel/ids';
import { decodeCursor, encodeCursor } from '../kernel/cursor';
import { webhookPartitions } from '../kernel/keys';
import type { WebhookStore } from './store';
import type { DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery } from './model';

export const WEBHOOK_LIMITS = {
  perOrganization: 25,
  urlLength: 2_048,
  /** After a rotation the old secret still signs (next to the new one) this long. */
  previousSecretHours: 24,
} as const;

// ——— URL policy ———

export interface UrlPolicy {
  /**
   * Allow http:// and https:// to loopback hosts (localhost, 127.0.0.0/8, ::1 — not their
   * IPv4-mapped forms). Off by default: in Lambda, loopback is the runtime API. Only the local
   * runtime and the tests turn it on (WEBHOOK_ALLOW_LOOPBACK=true, functions/shared/webhook-config.ts);
   * the CDK never sets it (test/infra/webhook-isolation.test.ts checks every function).
   */
  allowLoopback: boolean;
}

/**
 * Address classification is ipaddr.js's (a kept library with the IANA special-purpose
 * registries), as an allow-list: an address is public only when ipaddr.js calls it plain
 * `unicast` — never loopback, link-local, private, unique-local, unspecified, multicast,
 * broadcast, carrier-grade NAT, reserved (192.88.99.0/24, documentation, benchmarking, 240/4),
 * 6to4 (2002::/16), Teredo (2001::/32), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), IPv4-mapped
 * (::ffff:0:0/96) or IPv4-translated (::ffff:0:0:0/96). Two rules ipaddr.js does not name are
 * added: IPv6 must lie in 2000::/3 (the only block IANA allocates as global unicast, which also
 * refuses the deprecated IPv4-compatible ::a.b.c.d under ::/96), and an address embedding IPv4
 * is refused whatever IPv4 address it embeds (a webhook has no reason to use one, and embedded
 * forms are how hand-written filters get bypassed).
 */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/** The ipaddr.js range name of an address ('unicast' = public), or 'invalid'. */
export function addressRange(ip: string): string {
  const text = ip.split('%')[0]!; // a zone id (fe80::1%eth0) says nothing about the range
  if (!ipaddr.isValid(text)) return 'invalid';
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === 'ipv4') return parsed.range();
  const v6 = parsed as ipaddr.IPv6;
  const range = v6.range();
  if (range !== 'unicast') return range;
  return v6.match(GLOBAL_UNICAST_V6) ? 'unicast' : 'outsideGlobalUnicast';
}

export function isLoopbackAddress(ip: string): boolean {
  return addressRange(ip) === 'loopback';
}

/** Addresses a webhook may never reach: anything but global unicast (see addressRange). */
export function isNonPublicAddress(ip: string): boolean {
  return addressRange(ip) !== 'unicast';
}

const LOOPBACK_NAMES = /^(localhost|localhost\.localdomain)\.?$|\.localhost\.?$/i;

/** May a connection go to this resolved address under the policy? */
export function addressAllowed(ip: string, policy: UrlPolicy): boolean {
  if (policy.allowLoopback && isLoopbackAddress(ip)) return true;
  return !isNonPublicAddress(ip);
}

/**
 * Checks a webhook URL: https to a public host; http only to loopback, and only when the policy
 * allows loopback (local development). No credentials in the URL. Host names that resolve to
 * non-public addresses are refused again when a delivery connects (DNS may change).
 * Returns the problem, or null when the URL is acceptable.
 */
export function checkWebhookUrl(raw: string, policy: UrlPolicy): string | null {
  if (raw.length > WEBHOOK_LIMITS.urlLength) return `must be at most ${WEBHOOK_LIMITS.urlLength} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must use https (not ${url.protocol.replace(/:$/, '')})`;
  if (url.username || url.password) return 'must not carry credentials; authenticate deliveries with the signature';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = LOOPBACK_NAMES.test(host) || (isIP(host) !== 0 && isLoopbackAddress(host));
  if (loopback) return policy.allowLoopback ? null : 'must not point at this machine (loopback)';
  if (url.protocol === 'http:') return 'must use https (http is accepted for localhost only, in local development)';
  if (isIP(host) !== 0 && isNonPublicAddress(host)) return `must reach a public address (${host} is private or reserved)`;
  return null;
}

// ——— secrets and signatures (Standard Webhooks) ———

export const SECRET_PREFIX = 'whsec_';

/**
 * The KMS encryption context's `purpose` under which webhook secrets' data keys are generated and
 * unwrapped (functions/shared/secrets.ts); the CDK grants condition on it.
 */
export const WEBHOOK_SECRET_PURPOSE = 'cardflow:webhook-secret';

/** Encrypts a secret for storage, bound to its organization and webhook (functions/shared/secrets.ts). */
export interface SecretSealer {
  seal(plaintext: string, scope: { orgId: string; webhookId: string }): Promise<string>;
}

/** What reads show of a secret: its prefix and first four characters. */
export const secretHintOf = (plaintext: string) => `${plaintext.slice(0, SECRET_PREFIX.length + 4)}…`;

/** `whsec_` + base64 of 32 random bytes (the Standard Webhooks secret format). */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a secret: the bytes its base64 part encodes. */
function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` */
export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The webhook-signature header: one signature per live secret, space-separated. */
export function signatureHeader(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  return secrets.map((s) => sign(s, id, timestampSeconds, body)).join(' ');
}

export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

/**
 * What a receiver does (and what the README shows): the timestamp is recent, and one of the
 * v1 signatures matches, compared in constant time.
 */
export function verifySignature(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(secret, headers.id, timestamp, body).slice(3));
  return headers.signature.split(' ').some((candidate) => {
    const [version, mac] = candidate.split(',');
    if (version !== 'v1' || !mac) return false;
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** The secrets that sign a delivery now: the current one, and the previous one during its grace. */
export function signingSecrets(webhook: Pick<Webhook, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>, now: Date): string[] {
  const previousLive = webhook.previousSecret && webhook.previousSecretExpiresAt && Date.parse(webhook.previousSecretExpiresAt) > now.getTime();
  return previousLive ? [webhook.secret, webhook.previousSecret!] : [webhook.secret];
}

// ——— delivery policy ———

export interface DeliveryPolicy {
  /** Attempts per round (the first delivery, or a redelivery). */
  maxAttempts: number;
  /** Per attempt: connect, send and the response status. */
  timeoutMs: number;
  /** Wait before attempt n + 1 is base · 2^(n − 1), at most backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /**
   * A circuit breaker: once this many attempts in a row to one webhook failed, a failed attempt
   * is final, so a receiver that is down costs one attempt per event until it answers again.
   */
  breakerThreshold: number;
  /** Attempt entries kept per delivery (the newest). */
  historyLimit: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 5,
  timeoutMs: 5_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 8_000,
  breakerThreshold: 5,
  historyLimit: 20,
};

export function backoffMs(attemptsInRound: number, policy: DeliveryPolicy): number {
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.max(0, attemptsInRound - 1));
}

export interface AttemptResult {
  statusCode?: number;
  error?: string;
  durationMs: number;
}

export const attemptSucceeded = (result: AttemptResult) => result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300;

/** What one attempt (made at `now`) leaves: the delivery's new status, the retry time, and its log entry. */
export function afterAttempt(
  delivery: Pick<WebhookDelivery, 'attempts' | 'roundStartAttempts' | 'history'>,
  result: AttemptResult,
  webhookFailuresInARow: number,
  now: Date,
  policy: DeliveryPolicy,
): { status: DeliveryStatus; nextAttemptAt?: string; attempt: DeliveryAttempt; history: DeliveryAttempt[] } {
  const number = delivery.attempts + 1;
  const ok = attemptSucceeded(result);
  const error = ok ? undefined : (result.error ?? `HTTP ${result.statusCode}`);
  const attempt: DeliveryAttempt = {
    attempt: number,
    at: now.toISOString(),
    durationMs: Math.round(result.durationMs),
    ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
    ...(error !== undefined ? { error } : {}),
  };
  const history = [...(delivery.history ?? []), attempt].slice(-policy.historyLimit);
  if (ok) return { status: 'succeeded', attempt, history };
  const inRound = number - (delivery.roundStartAttempts ?? 0);
  const breakerOpen = webhookFailuresInARow + 1 >= policy.breakerThreshold;
  if (inRound >= policy.maxAttempts || breakerOpen) return { status: 'failed', attempt, history };
  // The backoff runs from the end of the attempt (a timed-out attempt took timeoutMs).
  const retryAt = now.getTime() + Math.round(result.durationMs) + backoffMs(inRound, policy);
  return { status: 'pending', nextAttemptAt: new Date(retryAt).toISOString(), attempt, history };
}

// ——— views ———

export function webhookView(webhook: Webhook) {
  return {
    id: webhook.id,
    url: webhook.url,
    eventTypes: webhook.eventTypes,
    enabled: webhook.enabled,
    ...(webhook.description !== undefined ? { description: webhook.description } : {}),
    // Webhooks from before encryption hold the plaintext, and no hint until the signer seals it.
    secretHint: webhook.secretHint ?? (webhook.secret.startsWith(SECRET_PREFIX) ? secretHintOf(webhook.secret) : `${SECRET_PREFIX}…`),
    ...(webhook.previousSecretExpiresAt && Date.parse(webhook.previousSecretExpiresAt) > Date.now()
      ? { previousSecretExpiresAt: webhook.previousSecretExpiresAt }
      : {}),
    consecutiveFailures: webhook.consecutiveFailures ?? 0,
    ...(webhook.lastFailureAt ? { lastFailureAt: webhook.lastFailureAt } : {}),
    version: webhook.version,
    createdBy: webhook.createdBy,
    createdAt: webhook.createdAt,
    updatedAt: webhook.updatedAt,
  };
}

export function deliveryView(delivery: WebhookDelivery, withEvent = false) {
  return {
    webhookId: delivery.webhookId,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    ...(delivery.status === 'pending' && delivery.nextAttemptAt ? { nextAttemptAt: delivery.nextAttemptAt } : {}),
    ...(delivery.lastAttemptAt ? { lastAttemptAt: delivery.lastAttemptAt } : {}),
    ...(delivery.lastStatusCode !== undefined ? { lastStatusCode: delivery.lastStatusCode } : {}),
    ...(delivery.lastError !== undefined ? { lastError: delivery.lastError } : {}),
    ...(delivery.deliveredAt ? { deliveredAt: delivery.deliveredAt } : {}),
    redeliveries: delivery.redeliveries ?? 0,
    history: delivery.history ?? [],
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
    ...(withEvent ? { event: JSON.parse(delivery.payload) as unknown } : {}),
  };
}

// ——— use cases ———

export interface WebhookContext extends UseCaseContext {
  webhooks: WebhookStore;
  urlPolicy: UrlPolicy;
  secrets: SecretSealer;
}

interface WebhookInput {
  url: string;
  eventTypes: string[];
  enabled?: boolean | undefined;
  description?: string | null | undefined;
}

function assertUrl(url: string, policy: UrlPolicy) {
  const problem = checkWebhookUrl(url, policy);
  if (problem)
    throw new ValidationError(`The webhook URL ${problem}`, [{ path: 'body.url', message: problem, code: 'webhook.invalidUrl' }], 'webhook.invalidUrl');
}

const dedupe = (types: string[]) => [...new Set(types)];

export async function createWebhook(ctx: WebhookContext, input: WebhookInput) {
  assertUrl(input.url, ctx.urlPolicy);
  const now = nowIso(ctx);
  const id = newId('webhook');
  const secret = newSecret();
  const webhook: Webhook = {
    id,
    url: input.url,
    eventTypes: dedupe(input.eventTypes),
    enabled: input.enabled ?? true,
    ...(input.description ? { description: input.description } : {}),
    secret: await ctx.secrets.seal(secret, { orgId: ctx.principal.orgId, webhookId: id }),
    secretHint: secretHintOf(secret),
    consecutiveFailures: 0,
    version: 1,
    createdBy: ctx.principal.userId,
    createdAt: now,
    updatedAt: now,
  };
  const outcome = await ctx.webhooks.create(ctx.principal.orgId, webhook, WEBHOOK_LIMITS.perOrganization);
  if (outcome === 'limit') {
    throw new ConflictError(`An organization may have at most ${WEBHOOK_LIMITS.perOrganization} webhooks; delete one first`, 'webhook.limitReached', {
      limit: WEBHOOK_LIMITS.perOrganization,
    });
  }
  return { ...webhookView(webhook), secret };
}

async function load(ctx: WebhookContext, webhookId: string): Promise<Webhook> {
  const webhook = await ctx.webhooks.get(ctx.principal.orgId, webhookId);
  if (!webhook) throw new NotFoundError('Webhook', webhookId);
  return webhook;
}

function checkVersion(webhook: Webhook, ifMatch: number | undefined) {
  if (ifMatch !== undefined && ifMatch !== webhook.version) {
    throw new PreconditionFailedError(`Webhook ${webhook.id} is at version ${webhook.version}, not ${ifMatch}`, { currentVersion: webhook.version });
  }
}

export async function getWebhook(ctx: WebhookContext, webhookId: string) {
  return webhookView(await load(ctx, webhookId));
}

export async function listWebhooks(ctx: WebhookContext, query: { limit?: number | undefined; cursor?: string | undefined }) {
  const { orgId } = ctx.principal;
  const scope = `webhooks:${orgId}`;
  const start = query.cursor
    ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ PK: webhookPartitions.webhooksOfOrg(orgId) }))
    : undefined;
  const page = await ctx.webhooks.list(orgId, query.limit ?? 50, start?.key);
  return { items: page.items.map(webhookView), nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null };
}

export async function updateWebhook(ctx: WebhookContext, webhookId: string, change: Partial<WebhookInput>, ifMatch?: number) {
  const current = await load(ctx, webhookId);
  checkVersion(current, ifMatch);
  if (change.url !== undefined) assertUrl(change.url, ctx.urlPolicy);
  const set: Record<string, unknown> = { updatedAt: nowIso(ctx) };
  if (change.url !== undefined) set['url'] = change.url;
  if (change.eventTypes !== undefined) set['eventTypes'] = dedupe(change.eventTypes);
  if (change.enabled !== undefined) set['enabled'] = change.enabled;
  if (change.description !== undefined) set['description'] = change.description === null || change.description === '' ? undefined : change.description;
  // A webhook switched back on starts with a closed breaker.
  if (change.enabled === true && !current.enabled) set['consecutiveFailures'] = 0;
  const next = await ctx.webhooks.update(ctx.principal.orgId, webhookId, current.version, set);
  if (!next) throw new PreconditionFailedError(`Webhook ${webhookId} changed meanwhile; read it again`);
  return webhookView(next);
}

export async function deleteWebhook(ctx: WebhookContext, webhookId: string, ifMatch?: number) {
  const current = await load(ctx, webhookId);
  checkVersion(current, ifMatch);
  if (!(await ctx.webhooks.delete(ctx.principal.orgId, webhookId, current.version))) {
    throw new PreconditionFailedError(`Webhook ${webhookId} changed meanwhile; read it again`);
  }
}

/** A new secret, shown once; the old one keeps signing (as a second signature) for a grace period. */
export async function rotateSecret(ctx: WebhookContext, webhookId: string) {
  const current = await load(ctx, webhookId);
  const now = ctx.now ? ctx.now() : new Date();
  const secret = newSecret();
  const next = await ctx.webhooks.update(ctx.principal.orgId, webhookId, current.version, {
    secret: await ctx.secrets.seal(secret, { orgId: ctx.principal.orgId, webhookId }),
    secretHint: secretHintOf(secret),
    // Moved as stored (sealed, or plaintext from before encryption): no decryption needed here.
    previousSecret: current.secret,
    previousSecretExpiresAt: new Date(now.getTime() + WEBHOOK_LIMITS.previousSecretHours * 3600_000).toISOString(),
    updatedAt: now.toISOString(),
  });
  if (!next) throw new ConflictError(`Webhook ${webhookId} changed meanwhile; try again`, 'resource.concurrentChange');
  return { ...webhookView(next), secret };
}

export async function listDeliveries(
  ctx: WebhookContext,
  webhookId: string,
  query: { limit?: number | undefined; cursor?: string | undefined; status?: DeliveryStatus | undefined },
) {
  const { orgId } = ctx.principal;
  await load(ctx, webhookId);
  const scope = `deliveries:${orgId}:${webhookId}:${query.status ?? ''}`;
  const partition = webhookPartitions.deliveriesOfWebhook(orgId, webhookId);
  const start = query.cursor ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ PK: partition })) : undefined;
  const page = await ctx.webhooks.listDeliveries(orgId, webhookId, query.limit ?? 50, start?.key, query.status);
  return { items: page.items.map((d) => deliveryView(d)), nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null };
}

export async function getDelivery(ctx: WebhookContext, webhookId: string, eventId: string) {
  await load(ctx, webhookId);
  const delivery = EVENT_ID.test(eventId) ? await ctx.webhooks.getDelivery(ctx.principal.orgId, webhookId, eventId) : null;
  if (!delivery) throw new NotFoundError('Delivery', eventId);
  return deliveryView(delivery, true);
}

/** Sends a finished delivery again: a new round of attempts, through the stream. */
export async function redeliver(ctx: WebhookContext, webhookId: string, eventId: string) {
  const webhook = await load(ctx, webhookId);
  if (!webhook.enabled) throw new ConflictError(`Webhook ${webhookId} is disabled; enable it first`, 'webhook.disabled');
  const { orgId } = ctx.principal;
  const restarted = await ctx.webhooks.restart(orgId, webhookId, eventId, nowIso(ctx));
  if (restarted) return deliveryView(restarted);
  const current = await ctx.webhooks.getDelivery(orgId, webhookId, eventId);
  if (!current) throw new NotFoundError('Delivery', eventId);
  throw new ConflictError(`Delivery ${eventId} is still pending`, 'webhook.deliveryPending');
}
