import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../functions/api/openapi';
import { routeList } from '../../functions/api/routes';

const committedPath = new URL('../../functions/api/openapi.json', import.meta.url);

describe('OpenAPI document', () => {
  it('the committed copy equals what the schemas generate (run npm run openapi after changing them)', () => {
    expect(JSON.parse(readFileSync(committedPath, 'utf8'))).toEqual(buildOpenApiDocument());
  });

  it('documents every route of the manifest, with bearer auth on all but health and openapi', () => {
    const doc = buildOpenApiDocument() as any;
    for (const route of routeList) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op.operationId).toBe(route.id);
      expect(op.security.length > 0).toBe(route.role !== null);
    }
    expect(doc.openapi).toBe('3.1.0');
  });

  it('passes redocly lint with no errors', () => {
    const out = execFileSync('npx', ['--no-install', 'redocly', 'lint', '--format', 'json', committedPath.pathname], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const report = JSON.parse(out.slice(out.indexOf('{')));
    expect(report.totals.errors).toBe(0);
  }, 60_000);
});
