import { auditTrail, itemActivity, type AuditQuery } from '../../domain/activity/activity-log';
import { contextFor } from '../shared/store';
import { apiHandler } from './http';
import { activityRoutes as routes } from './routes-activity';

export const cardActivity = apiHandler(routes.cardActivity, async ({ principal, params, query }) => ({
  body: await itemActivity(contextFor(principal), 'card', params.cardId, query),
}));

export const recordActivity = apiHandler(routes.recordActivity, async ({ principal, params, query }) => ({
  body: await itemActivity(contextFor(principal), 'record', params.recordId, query),
}));

export const listAudit = apiHandler(routes.listAudit, async ({ principal, query }) => ({
  body: await auditTrail(contextFor(principal), query as AuditQuery),
}));
