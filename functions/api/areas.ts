/**
 * API areas: the route manifest (routes.ts) grouped into one Lambda function per area. The CDK
 * API stack deploys one function per area and points every route of the area at it; the local
 * gateway and the integration tests invoke the same area handler, which dispatches on the
 * event's routeKey (functions/api/area-handler.ts).
 *
 * Why areas rather than one function per route: a route cost seven CloudFormation resources
 * (function, role, policy, log group, permission, integration, route), so 59 routes used 420 of
 * a stack's 500. An area costs six (the same minus the route) plus one route resource per
 * route, so the stack grows by one resource per new route. Areas follow the handler modules
 * that share domain code (databases+records, connections+children): one bundle, the same
 * dependencies, so an area bundle is barely larger than a route bundle, and its functions
 * stay warm across more of the traffic (fewer cold starts). The blast radius of a bad deploy
 * or a runaway function is one area, and each area's role is least privilege for its routes
 * (areaAccess below).
 *
 * A handler module not listed here is an area of its own, named after the module; it needs an
 * entry file functions/api/areas/<area>.ts (test/infra/handler-entries.test.ts says which).
 */
import { areaOf } from './area-of';
import { routeList, type RouteId, type RouteSpec } from './routes';

export type TableAccess = RouteSpec['access'];

export { AREA_OF_MODULE, areaOf, routeKeyOf } from './area-of';

const STRENGTH: Record<TableAccess, number> = { NONE: 0, RO: 1, RW: 2 };

/**
 * The table access of an area's function: the strongest any of its routes declares. One role
 * per function is the unit IAM can enforce, so a function serving a read-write route must be
 * allowed to write; its read-only routes stay read-only by their code (they call no write
 * use case), as every route did within its module before. Splitting each area into an RO and
 * an RW function would cost six more resources and two more alarms per area, and split each
 * area's traffic over two cold-starting functions, for areas where writes are about half the
 * routes: not worth it here.
 */
export function areaAccess(routes: ReadonlyArray<Pick<RouteSpec, 'access'>>): TableAccess {
  return routes.reduce<TableAccess>((best, r) => (STRENGTH[r.access] > STRENGTH[best] ? r.access : best), 'NONE');
}

export interface ApiArea {
  /** Lower-case area name: the entry file functions/api/areas/<name>.ts, the function's name part. */
  name: string;
  /** The handler modules whose routes it serves. */
  modules: string[];
  routes: Array<RouteSpec & { id: RouteId }>;
  access: TableAccess;
}

/** Every area of the manifest, in manifest order of their first route. */
export function apiAreas(routes: ReadonlyArray<RouteSpec & { id: RouteId }> = routeList): ApiArea[] {
  const byName = new Map<string, ApiArea>();
  for (const route of routes) {
    const name = areaOf(route);
    let area = byName.get(name);
    if (!area) {
      area = { name, modules: [], routes: [], access: 'NONE' };
      byName.set(name, area);
    }
    if (!area.modules.includes(route.handler.module)) area.modules.push(route.handler.module);
    area.routes.push(route);
  }
  for (const area of byName.values()) area.access = areaAccess(area.routes);
  return [...byName.values()];
}
