/**
 * The API stack points each function at functions/api/<module>.ts and its named export. A typo in
 * the manifest would synthesize and deploy fine and only fail at invocation: catch it here.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { routeList } from '../../functions/api/routes';
import { REPO_ROOT } from '../../infra/stacks/house-function';

describe('route handler entries', () => {
  it.each(routeList)('$id: functions/api/$handler.module.ts exports $handler.export', async (route) => {
    const entry = path.join(REPO_ROOT, 'functions/api', `${route.handler.module}.ts`);
    expect(existsSync(entry), `${entry} is missing`).toBe(true);
    const mod = (await import(entry)) as Record<string, unknown>;
    expect(typeof mod[route.handler.export]).toBe('function');
  });
});
