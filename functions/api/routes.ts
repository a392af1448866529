/**
 * The route manifest: one entry per HTTP route. The CDK API stack builds one API route per entry,
 * integrated with the Lambda function of its area (functions/api/areas.ts), granted the strongest
 * table access among the area's routes; the local gateway dispatches with it, the handlers
 * validate with its schemas and the OpenAPI document is generated from it.
 *
 * The entries live in one module per area (routes-<area>.ts), and handler modules import their
 * own: an area's bundle then holds only its routes and the schemas they name (esbuild drops the
 * rest, see functions/api/lazy.ts). This module joins them, in the order of the document.
 */
import type { RouteSpec } from './route-spec';
import { activityRoutes } from './routes-activity';
import { automationRoutes } from './routes-automations';
import { cardRoutes } from './routes-cards';
import { connectionRoutes } from './routes-connections';
import { databaseRoutes } from './routes-databases';
import { jobRoutes } from './routes-jobs';
import { pipeRoutes } from './routes-pipes';
import { systemRoutes } from './routes-system';
import { tokenRoutes } from './routes-tokens';
import { webhookRoutes } from './routes-webhooks';

export type { HttpMethod, RouteSpec } from './route-spec';

export const routes = {
  ...systemRoutes,
  ...pipeRoutes,
  ...cardRoutes,
  ...databaseRoutes,
  ...connectionRoutes,
  ...automationRoutes,
  ...webhookRoutes,
  ...tokenRoutes,
  ...jobRoutes,
  ...activityRoutes,
} satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof routes;

export const routeList: Array<RouteSpec & { id: RouteId }> = Object.entries(routes).map(([id, spec]) => ({
  id: id as RouteId,
  ...(spec as RouteSpec),
}));
