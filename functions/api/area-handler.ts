/**
 * The entry of an area's Lambda function (functions/api/areas/<area>.ts): the route manifest's
 * routes of the area, dispatched on the API Gateway v2 event's routeKey ("GET /v1/pipes/{pipeId}",
 * exactly the manifest's method and path) to the route's handler. The table is built once per
 * container, and a missing handler export fails the cold start rather than one request.
 *
 * The entry names the route tables (routes-<area>.ts) its routes are in, rather than this module
 * reading the whole manifest: so the bundle holds only its area's routes and schemas
 * (test/infra/handler-entries.test.ts checks each entry serves exactly its area's routes).
 */
import type { Context } from 'aws-lambda';
import { AppError } from '../../domain/kernel/errors';
import { areaOf, routeKeyOf } from './area-of';
import { problemResponse, type ApiEvent, type ApiResult } from './http';
import type { RouteSpec } from './route-spec';

export type RouteHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

class RouteNotInAreaError extends AppError {
  constructor(routeKey: string, area: string) {
    super(404, 'route.notFound', `No route ${routeKey} is served by the ${area} function`);
  }
}

type Modules = Readonly<Record<string, Readonly<Record<string, unknown>>>>;
type RouteTables = ReadonlyArray<Readonly<Record<string, RouteSpec>>>;

/** routeKey → handler for the routes of `area` in `tables`, looked up in the given handler modules (by module name). */
export function areaRoutes(area: string, modules: Modules, tables: RouteTables): Map<string, RouteHandler> {
  const table = new Map<string, RouteHandler>();
  for (const [id, route] of tables.flatMap((t) => Object.entries(t))) {
    if (areaOf(route) !== area) continue;
    const handler = modules[route.handler.module]?.[route.handler.export];
    if (typeof handler !== 'function') {
      throw new Error(`Area ${area}: route ${id} needs ${route.handler.module}.${route.handler.export}, which the area entry does not import`);
    }
    table.set(routeKeyOf(route), handler as RouteHandler);
  }
  if (table.size === 0) throw new Error(`Area ${area} has no routes in the manifest`);
  return table;
}

/** The area's handler; `routes` is its dispatch table (routeKey → handler), for the tests. */
export function areaHandler(area: string, modules: Modules, tables: RouteTables): RouteHandler & { routes: ReadonlyMap<string, RouteHandler> } {
  const table = areaRoutes(area, modules, tables);
  const handler: RouteHandler = async (event, context) => {
    const handler = table.get(event.routeKey);
    if (handler) return handler(event, context);
    // Only a route wired to the wrong integration gets here: say so, as problem+json.
    const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
    return problemResponse(new RouteNotInAreaError(event.routeKey, area), requestId, event.rawPath ?? '');
  };
  return Object.assign(handler, { routes: table as ReadonlyMap<string, RouteHandler> });
}
