/** The shape of one route manifest entry (routes.ts and the per-area routes-*.ts lists). */
import type { Role } from '../../domain/kernel/auth';
import type { z } from './schemas';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RouteSpec {
  method: HttpMethod;
  /** API Gateway path syntax: /v1/cards/{cardId} */
  path: string;
  /** Handler module under functions/api/ (without extension) and its export. */
  handler: { module: string; export: string };
  /** Table access the function is granted: read-only or read-write. */
  access: 'RO' | 'RW' | 'NONE';
  /** The least role allowed, or null for a public route (no authorizer). */
  role: Role | null;
  summary: string;
  tag: string;
  request?: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    body?: z.ZodType;
  };
  /** Success status and body schema; errors are problem+json. */
  success: { status: number; description: string; schema?: z.ZodType; etag?: boolean };
  /** A second success: 202 when the work goes on as a job (Location header names it). */
  accepted?: { status: 202; description: string; schema: z.ZodType };
  /** The handler honours If-Match (412 when it does not name the current version). */
  ifMatch?: boolean;
  /** Problem statuses the use case answers beyond what the entry implies (e.g. 412 for versions in the body). */
  answers?: number[];
}

/** Route spec → its manifest id (the key of its entry), for every table made with defineRoutes. */
const ROUTE_IDS = new WeakMap<RouteSpec, string>();

/**
 * A module's route table, each spec remembered with its id: the handlers ask routeIdOf for it
 * (metrics, idempotency scopes) without importing the whole manifest (functions/api/routes.ts).
 */
export function defineRoutes<T extends Record<string, RouteSpec>>(table: T): T {
  for (const [id, spec] of Object.entries(table)) ROUTE_IDS.set(spec, id);
  return table;
}

/** The manifest id of a route spec ("getPipe"), or "METHOD /path" for a spec no table defines. */
export const routeIdOf = (route: RouteSpec): string => ROUTE_IDS.get(route) ?? `${route.method} ${route.path}`;
