/**
 * The API stack deploys functions/api/areas/<area>.ts (export `handler`) for each area, and that
 * handler dispatches every routeKey of its area to the manifest's module export. A typo in the
 * manifest or a module missing from an area entry would synthesize and deploy fine and only fail
 * at invocation: catch it here.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { areaRoutes } from '../../functions/api/area-handler';
import { apiAreas, routeKeyOf } from '../../functions/api/areas';
import type { ApiEvent } from '../../functions/api/http';
import { routeList } from '../../functions/api/routes';
import { databaseRoutes } from '../../functions/api/routes-databases';
import { REPO_ROOT } from '../../infra/stacks/house-function';

describe('route handler modules', () => {
  it.each(routeList)('$id: functions/api/$handler.module.ts exports $handler.export', async (route) => {
    const entry = path.join(REPO_ROOT, 'functions/api', `${route.handler.module}.ts`);
    expect(existsSync(entry), `${entry} is missing`).toBe(true);
    const mod = (await import(entry)) as Record<string, unknown>;
    expect(typeof mod[route.handler.export]).toBe('function');
  });
});

describe('area entries', () => {
  it.each(apiAreas().map((a) => a.name))('%s: its entry exports a handler for each of its routes', async (name) => {
    const area = apiAreas().find((a) => a.name === name)!;
    const entry = path.join(REPO_ROOT, 'functions/api/areas', `${name}.ts`);
    expect(existsSync(entry), `${entry} is missing: add an entry for the area, like functions/api/areas/pipes.ts`).toBe(true);
    const mod = (await import(entry)) as { handler?: { routes?: ReadonlyMap<string, unknown> } };
    expect(typeof mod.handler).toBe('function');
    // The entry's own dispatch table: every route of the area (it names the route tables they are in), no other.
    expect([...(mod.handler?.routes?.keys() ?? [])].sort()).toEqual(area.routes.map(routeKeyOf).sort());
    for (const route of area.routes) expect(typeof mod.handler?.routes?.get(routeKeyOf(route)), route.id).toBe('function');
  });

  it('a route wired to the wrong area function gets a 404 problem naming it, not another route', async () => {
    const { handler } = (await import('../../functions/api/areas/system')) as {
      handler: (e: ApiEvent, c: Context) => Promise<{ statusCode?: number; headers?: Record<string, unknown>; body?: string }>;
    };
    const event = { routeKey: 'GET /v1/pipes', rawPath: '/v1/pipes', requestContext: { requestId: 'r-1' } } as unknown as ApiEvent;
    const result = await handler(event, { awsRequestId: 'a-1' } as Context);
    expect(result.statusCode).toBe(404);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(result.body!)).toMatchObject({ code: 'route.notFound', detail: expect.stringContaining('GET /v1/pipes'), requestId: 'r-1' });
  });

  it('an area entry that lacks a module of its routes fails at cold start, naming the route', () => {
    expect(() => areaRoutes('databases', { databases: {} }, [databaseRoutes])).toThrow(/route createDatabase needs databases\.createDatabase/);
  });
});
