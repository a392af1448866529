/** Webhook administration and the delivery log (admins only). The store is built once per container. */
import type { Principal } from '../../domain/kernel/auth';
import { documentClient } from '../../domain/kernel/client';
import { WebhookStore } from '../../domain/webhooks/store';
import * as webhooks from '../../domain/webhooks/webhooks';
import { tableName } from '../shared/env';
import { secretSealer } from '../shared/secrets';
import { contextFor } from '../shared/store';
import { urlPolicy } from '../shared/webhook-config';
import { apiHandler, ifMatchVersion } from './http';
import { webhookRoutes as routes } from './routes-webhooks';

const store = new WebhookStore(documentClient, tableName());
const ctxFor = (principal: Principal): webhooks.WebhookContext => ({ ...contextFor(principal), webhooks: store, urlPolicy, secrets: secretSealer });

export const createWebhook = apiHandler(routes.createWebhook, async ({ principal, body }) => {
  const webhook = await webhooks.createWebhook(ctxFor(principal), body);
  return { body: webhook, version: webhook.version, headers: { location: `/v1/webhooks/${webhook.id}` } };
});

export const listWebhooks = apiHandler(routes.listWebhooks, async ({ principal, query }) => ({
  body: await webhooks.listWebhooks(ctxFor(principal), query),
}));

export const getWebhook = apiHandler(routes.getWebhook, async ({ principal, params }) => {
  const webhook = await webhooks.getWebhook(ctxFor(principal), params.webhookId);
  return { body: webhook, version: webhook.version };
});

export const updateWebhook = apiHandler(routes.updateWebhook, async ({ principal, params, body, headers }) => {
  const webhook = await webhooks.updateWebhook(ctxFor(principal), params.webhookId, body, ifMatchVersion(headers));
  return { body: webhook, version: webhook.version };
});

export const deleteWebhook = apiHandler(routes.deleteWebhook, async ({ principal, params, headers }) => {
  await webhooks.deleteWebhook(ctxFor(principal), params.webhookId, ifMatchVersion(headers));
  return {};
});

export const rotateWebhookSecret = apiHandler(routes.rotateWebhookSecret, async ({ principal, params }) => {
  const webhook = await webhooks.rotateSecret(ctxFor(principal), params.webhookId);
  return { body: webhook, version: webhook.version };
});

export const listWebhookDeliveries = apiHandler(routes.listWebhookDeliveries, async ({ principal, params, query }) => ({
  body: await webhooks.listDeliveries(ctxFor(principal), params.webhookId, query),
}));

export const getWebhookDelivery = apiHandler(routes.getWebhookDelivery, async ({ principal, params }) => ({
  body: await webhooks.getDelivery(ctxFor(principal), params.webhookId, params.eventId),
}));

export const redeliverWebhookDelivery = apiHandler(routes.redeliverWebhookDelivery, async ({ principal, params }) => ({
  body: await webhooks.redeliver(ctxFor(principal), params.webhookId, params.eventId),
}));
