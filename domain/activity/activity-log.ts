/**
 * Reading activity and audit. An item's activity is readable by anyone who may read the item;
 * once the item is deleted, its history stays (until the retention ends) for admins only.
 */
import type { ActivityEntry, AuditEntry, AuditedEntity } from './activity';
import { ROLES } from '../kernel/auth';
import type { UseCaseContext } from '../kernel/context';
import { BadRequestError, NotFoundError } from '../kernel/errors';
import type { ItemType } from '../kernel/model';
import { decodeCursor, encodeCursor } from '../kernel/cursor';
import { activityPartitions } from '../kernel/keys';

export interface ActivityQuery {
  limit?: number;
  cursor?: string;
}

export interface AuditQuery extends ActivityQuery {
  from?: string;
  to?: string;
  entityType?: AuditedEntity;
  entityId?: string;
}

export const ACTIVITY_PAGE = { default: 50, max: 100 } as const;

/** Days entries are kept unless the deployment says otherwise (ACTIVITY_RETENTION_DAYS). */
export const DEFAULT_ACTIVITY_RETENTION_DAYS = 90;

const label = (type: ItemType) => (type === 'card' ? 'Card' : 'Record');
const isAdmin = (ctx: UseCaseContext) => ROLES.indexOf(ctx.principal.role) >= ROLES.indexOf('admin');

export async function itemActivity(ctx: UseCaseContext, type: ItemType, id: string, query: ActivityQuery) {
  const orgId = ctx.principal.orgId;
  const scope = `activity:${orgId}:${id}`;
  const partition = activityPartitions.ofItem(orgId, id);
  const start = query.cursor ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ PK: partition })).key : undefined;
  const live = await ctx.store.items.get(orgId, type, id);
  const page = await ctx.store.activity.listActivity(orgId, id, Math.min(query.limit ?? ACTIVITY_PAGE.default, ACTIVITY_PAGE.max), start);
  // A deleted item's history is for admins; to everyone else the item simply does not exist.
  if (!live && (!isAdmin(ctx) || (!start && page.items.length === 0))) throw new NotFoundError(label(type), id);
  const items = page.items.map(({ orgId: _org, ...entry }: ActivityEntry) => entry);
  return { items, nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null };
}

export async function auditTrail(ctx: UseCaseContext, query: AuditQuery) {
  const orgId = ctx.principal.orgId;
  if (query.from && query.to && query.from > query.to) {
    throw new BadRequestError('`from` is after `to`', [{ path: 'query.from', message: 'must not be after to', code: 'request.invalidRange' }]);
  }
  const filter = {
    ...(query.from ? { from: new Date(query.from).toISOString() } : {}),
    ...(query.to ? { to: new Date(query.to).toISOString() } : {}),
    ...(query.entityType ? { entityType: query.entityType } : {}),
    ...(query.entityId ? { entityId: query.entityId } : {}),
  };
  // The filter is part of the scope: a cursor only continues the query it came from.
  const scope = `audit:${orgId}:${JSON.stringify(filter)}`;
  const partition = activityPartitions.audit(orgId);
  const start = query.cursor ? decodeCursor<{ key?: Record<string, unknown> }>(scope, query.cursor, () => ({ PK: partition })).key : undefined;
  const page = await ctx.store.activity.listAudit(orgId, filter, Math.min(query.limit ?? ACTIVITY_PAGE.default, ACTIVITY_PAGE.max), start);
  return {
    items: page.items.map(({ orgId: _org, ...entry }: AuditEntry) => entry),
    nextCursor: page.lastKey ? encodeCursor(scope, { key: page.lastKey }) : null,
  };
}
