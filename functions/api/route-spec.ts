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
