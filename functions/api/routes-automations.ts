/** Routes of automations; merged into the route manifest (functions/api/routes.ts). */
import type { RouteSpec } from './routes';

export const automationRoutes = {} satisfies Record<string, RouteSpec>;
