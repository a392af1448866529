/** Routes of webhooks; merged into the route manifest (functions/api/routes.ts). */
import * as s from './schemas';
import { deferred, once } from './lazy';
import { z } from './schemas';
import { defineRoutes, type RouteSpec } from './route-spec';

const webhookParams = /* @__PURE__ */ once(() => z.strictObject({ webhookId: s.Id('webhook') }));
const deliveryParams = /* @__PURE__ */ once(() =>
  z.strictObject({
    webhookId: s.Id('webhook'),
    eventId: z.string().regex(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/, { message: 'must be an event id (evt_…)' }),
  }),
);
const m = { module: 'webhooks' } as const;

export const webhookRoutes = defineRoutes({
  createWebhook: {
    method: 'POST',
    path: '/v1/webhooks',
    handler: { ...m, export: 'createWebhook' },
    access: 'RW',
    role: 'admin',
    summary: 'Register a webhook; the response shows its signing secret, this once',
    tag: 'Webhooks',
    request: deferred({ body: s.CreateWebhook }),
    success: deferred({ status: 201, description: 'The webhook with its secret', schema: s.WebhookWithSecret, etag: true }),
  },
  listWebhooks: {
    method: 'GET',
    path: '/v1/webhooks',
    handler: { ...m, export: 'listWebhooks' },
    access: 'RO',
    role: 'admin',
    summary: 'List webhooks',
    tag: 'Webhooks',
    request: deferred({ query: s.Pagination }),
    success: deferred({ status: 200, description: 'A page of webhooks', schema: () => s.page(s.Webhook(), 'WebhookPage') }),
  },
  getWebhook: {
    method: 'GET',
    path: '/v1/webhooks/{webhookId}',
    handler: { ...m, export: 'getWebhook' },
    access: 'RO',
    role: 'admin',
    summary: 'Get a webhook (never its secret)',
    tag: 'Webhooks',
    request: deferred({ params: webhookParams }),
    success: deferred({ status: 200, description: 'The webhook', schema: s.Webhook, etag: true }),
  },
  updateWebhook: {
    method: 'PATCH',
    path: '/v1/webhooks/{webhookId}',
    handler: { ...m, export: 'updateWebhook' },
    access: 'RW',
    role: 'admin',
    summary: 'Change the URL, event types, enabled flag or description of a webhook',
    tag: 'Webhooks',
    request: deferred({ params: webhookParams, body: s.UpdateWebhook }),
    ifMatch: true,
    success: deferred({ status: 200, description: 'The webhook', schema: s.Webhook, etag: true }),
  },
  deleteWebhook: {
    method: 'DELETE',
    path: '/v1/webhooks/{webhookId}',
    handler: { ...m, export: 'deleteWebhook' },
    access: 'RW',
    role: 'admin',
    summary: 'Delete a webhook (its pending deliveries end failed)',
    tag: 'Webhooks',
    request: deferred({ params: webhookParams }),
    ifMatch: true,
    success: { status: 204, description: 'Deleted' },
  },
  rotateWebhookSecret: {
    method: 'POST',
    path: '/v1/webhooks/{webhookId}/rotate-secret',
    handler: { ...m, export: 'rotateWebhookSecret' },
    access: 'RW',
    role: 'admin',
    summary: 'Replace the signing secret; for 24 hours deliveries carry signatures made with both',
    tag: 'Webhooks',
    request: deferred({ params: webhookParams }),
    success: deferred({ status: 200, description: 'The webhook with its new secret', schema: s.WebhookWithSecret, etag: true }),
  },
  listWebhookDeliveries: {
    method: 'GET',
    path: '/v1/webhooks/{webhookId}/deliveries',
    handler: { ...m, export: 'listWebhookDeliveries' },
    access: 'RO',
    role: 'admin',
    summary: 'The delivery log of a webhook, newest first: status, attempts, last status code and error',
    tag: 'Webhooks',
    request: deferred({ params: webhookParams, query: s.ListDeliveriesQuery }),
    success: deferred({ status: 200, description: 'A page of deliveries', schema: () => s.page(s.WebhookDelivery(), 'WebhookDeliveryPage') }),
  },
  getWebhookDelivery: {
    method: 'GET',
    path: '/v1/webhooks/{webhookId}/deliveries/{eventId}',
    handler: { ...m, export: 'getWebhookDelivery' },
    access: 'RO',
    role: 'admin',
    summary: 'One delivery with the event it carries',
    tag: 'Webhooks',
    request: deferred({ params: deliveryParams }),
    success: deferred({ status: 200, description: 'The delivery', schema: s.WebhookDeliveryWithEvent }),
  },
  redeliverWebhookDelivery: {
    method: 'POST',
    path: '/v1/webhooks/{webhookId}/deliveries/{eventId}/redeliver',
    handler: { ...m, export: 'redeliverWebhookDelivery' },
    access: 'RW',
    role: 'admin',
    summary: 'Send a finished delivery again (a new round of attempts)',
    tag: 'Webhooks',
    request: deferred({ params: deliveryParams }),
    success: deferred({ status: 202, description: 'The delivery, pending again', schema: s.WebhookDelivery }),
  },
} satisfies Record<string, RouteSpec>);
