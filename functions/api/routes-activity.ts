/** Routes of activity (item history) and the audit trail; merged into the route manifest (functions/api/routes.ts). */
import { AUDITED_ENTITY_TYPES } from '../../domain/activity/activity';
import { deferred, once } from './lazy';
import * as s from './schemas';
import { z } from './schemas';
import { defineRoutes, type RouteSpec } from './route-spec';

const Timestamp = /* @__PURE__ */ once(() => z.string().openapi({ format: 'date-time', example: '2026-11-27T09:30:00.000Z' }));

const Actor = /* @__PURE__ */ once(() =>
  z
    .union([
      z.object({ type: z.literal('user'), id: z.string() }),
      z.object({ type: z.literal('token'), id: z.string().openapi({ description: 'The API token (tok_…) that made the change.' }) }),
      z.object({ type: z.literal('automation'), id: s.Id('automation') }),
      z.object({ type: z.literal('propagation'), parentId: z.string(), connectionId: z.string().optional() }).openapi({
        description: 'A value synced down from the parent `parentId` (through connection `connectionId`).',
      }),
      z.object({ type: z.literal('system') }),
    ])
    .nullable()
    .openapi('Actor', {
      description:
        'Who made the change: a user, an API token, an automation, or propagation from a parent. null when the change left no record of its actor (the removal of an edge or of a setup item).',
    }),
);

const ItemChange = /* @__PURE__ */ once(() =>
  z
    .union([
      z.object({ type: z.literal('value'), fieldId: s.Id('field'), before: z.unknown(), after: z.unknown() }),
      z.object({ type: z.literal('title'), before: z.string(), after: z.string() }),
      z.object({ type: z.literal('phase'), from: s.Id('phase'), to: s.Id('phase') }),
      z.object({ type: z.literal('finished') }),
      z.object({ type: z.literal('reopened') }),
    ])
    .openapi('ItemChange', { description: 'One change. Texts longer than 280 characters are shortened (ending in …); the item has the full value.' }),
);

export const ActivityEntry = /* @__PURE__ */ once(() =>
  z
    .object({
      id: z.string().regex(/^act_[0-9a-f]{24}$/),
      itemId: z.string(),
      itemType: z.enum(['card', 'record']),
      occurredAt: Timestamp(),
      actor: Actor(),
      kind: z.enum(['created', 'updated', 'deleted', 'childConnected', 'childDisconnected', 'parentConnected', 'parentDisconnected']),
      changes: z.array(ItemChange()),
      related: z
        .object({ connectionId: s.Id('connection'), item: z.record(z.string(), z.unknown()) })
        .optional()
        .openapi({ description: 'On connected/disconnected: the other item (its summary as the connection held it).' }),
      title: z.string().optional().openapi({ description: 'On deleted: the title the item had.' }),
    })
    .openapi('ActivityEntry'),
);

export const AuditEntry = /* @__PURE__ */ once(() =>
  z
    .object({
      id: z.string().regex(/^aud_[0-9a-f]{24}$/),
      occurredAt: Timestamp(),
      actor: Actor(),
      entityType: z.enum(AUDITED_ENTITY_TYPES as [string, ...string[]]),
      entityId: z.string(),
      action: z.enum(['created', 'updated', 'deleted']),
      containerId: z.string().optional().openapi({ description: 'The pipe or database the entity belongs to.' }),
      before: z
        .record(z.string(), z.unknown())
        .optional()
        .openapi({ description: 'The changed attributes before (all of them on delete). Secrets never appear.' }),
      after: z.record(z.string(), z.unknown()).optional().openapi({ description: 'The changed attributes after (all of them on create).' }),
    })
    .openapi('AuditEntry'),
);

const AuditQuery = /* @__PURE__ */ once(() =>
  s.Pagination().extend({
    from: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Entries at or after this time.' }),
    to: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Entries at or before this time.' }),
    entityType: z.enum(AUDITED_ENTITY_TYPES as [string, ...string[]]).optional(),
    entityId: z.string().max(64).optional(),
  }),
);

export const Settings = /* @__PURE__ */ once(() =>
  z
    .object({
      activityRetentionDays: z.number().int().openapi({
        description: 'Days activity and audit entries are kept (90 unless changed). A change applies to entries written from then on.',
        example: 90,
      }),
      version: z.number().int().openapi({ description: '0 until an admin first changes a setting.' }),
      updatedAt: Timestamp().optional(),
    })
    .openapi('Settings'),
);

const UpdateSettings = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      activityRetentionDays: z.number().int().min(1).max(3650).optional(),
    })
    .refine((v) => Object.keys(v).length > 0, { message: 'name at least one setting' })
    .openapi('UpdateSettings'),
);

const listEntries = 'Newest first. Entries are kept for the retention period (90 days by default), also after the item is deleted (then for admins only).';

export const activityRoutes = defineRoutes({
  cardActivity: {
    method: 'GET',
    path: '/v1/cards/{cardId}/activity',
    handler: { module: 'activity', export: 'cardActivity' },
    access: 'RO',
    role: 'viewer',
    summary: "A card's activity: who changed what, and when",
    tag: 'Activity',
    request: deferred({ params: () => z.strictObject({ cardId: s.Id('card') }), query: s.Pagination }),
    success: deferred({ status: 200, description: listEntries, schema: () => s.page(ActivityEntry(), 'ActivityPage') }),
  },
  recordActivity: {
    method: 'GET',
    path: '/v1/records/{recordId}/activity',
    handler: { module: 'activity', export: 'recordActivity' },
    access: 'RO',
    role: 'viewer',
    summary: "A record's activity: who changed what, and when",
    tag: 'Activity',
    request: deferred({ params: () => z.strictObject({ recordId: s.Id('record') }), query: s.Pagination }),
    success: deferred({ status: 200, description: listEntries, schema: () => s.page(ActivityEntry(), 'ActivityPage') }),
  },
  listAudit: {
    method: 'GET',
    path: '/v1/audit',
    handler: { module: 'activity', export: 'listAudit' },
    access: 'RO',
    role: 'admin',
    summary: 'The audit trail: changes to pipes, phases, fields, databases, connections, automations, webhooks and tokens',
    tag: 'Activity',
    request: deferred({ query: AuditQuery }),
    success: deferred({
      status: 200,
      description: 'Newest first; filter by time range (key condition) and entity (applied after reading: a page may hold fewer entries than `limit`).',
      schema: () => s.page(AuditEntry(), 'AuditPage'),
    }),
  },
  getSettings: {
    method: 'GET',
    path: '/v1/settings',
    handler: { module: 'settings', export: 'getSettings' },
    access: 'RO',
    role: 'viewer',
    summary: "The organization's settings (activity retention)",
    tag: 'Activity',
    success: deferred({ status: 200, description: 'The settings, defaults included', schema: Settings, etag: true }),
  },
  updateSettings: {
    method: 'PATCH',
    path: '/v1/settings',
    handler: { module: 'settings', export: 'updateSettings' },
    access: 'RW',
    role: 'admin',
    summary: "Change the organization's settings",
    tag: 'Activity',
    request: deferred({ body: UpdateSettings }),
    ifMatch: true,
    success: deferred({ status: 200, description: 'The settings', schema: Settings, etag: true }),
  },
} satisfies Record<string, RouteSpec>);
