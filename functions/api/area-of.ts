/**
 * Which area (Lambda function) serves a handler module's routes: the rule of functions/api/areas.ts,
 * in a module of its own so an area's entry can dispatch without importing the whole manifest.
 */
import type { RouteSpec } from './route-spec';

/** Handler module (routes.ts `handler.module`) → area. */
export const AREA_OF_MODULE: Readonly<Record<string, string>> = {
  system: 'system',
  pipes: 'pipes',
  cards: 'cards',
  databases: 'databases',
  records: 'databases',
  connections: 'connections',
  children: 'connections',
  automations: 'automations',
  webhooks: 'webhooks',
  tokens: 'tokens',
  // Following a cascade job is part of deleting cards and records.
  jobs: 'cards',
  // Item history and the audit trail: read-only, its own function.
  activity: 'activity',
  // Organization administration: tokens and settings.
  settings: 'tokens',
};

export const areaOf = (route: Pick<RouteSpec, 'handler'>): string => AREA_OF_MODULE[route.handler.module] ?? route.handler.module;

/** The event routeKey API Gateway sets for a route: "GET /v1/pipes/{pipeId}". */
export const routeKeyOf = (route: Pick<RouteSpec, 'method' | 'path'>): string => `${route.method} ${route.path}`;
