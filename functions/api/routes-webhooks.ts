/** Routes of webhooks; merged into the route manifest (functions/api/routes.ts). */
import type { RouteSpec } from './routes';

export const webhookRoutes = {} satisfies Record<string, RouteSpec>;
