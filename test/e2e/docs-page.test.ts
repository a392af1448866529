/**
 * GET /v1/docs in a real browser: headless Chromium (Debian's `chromium`, which .ci/run
 * installs) loads the page from the local gateway with the real handlers, runs swagger-ui from
 * the API's own assets (no network beyond the gateway), and every operation of the manifest
 * renders. The DOM is read once the page's scripts have settled (--dump-dom with a virtual
 * time budget).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeList } from '../../functions/api/routes';
import { createDevIssuer } from '../../infra/local/dev-issuer';
import { startGateway, type RunningGateway } from '../../infra/local/gateway';

const run = promisify(execFile);
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let dir: string;
let gateway: RunningGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-docs-'));
  const issuer = await createDevIssuer({ keyFile: join(dir, 'key.json') });
  gateway = await startGateway({ issuer, port: 0, quiet: true });
});

afterAll(async () => {
  await gateway?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The page's DOM after its scripts ran, as headless Chromium sees it. */
async function renderedDom(url: string): Promise<string> {
  if (!CHROMIUM) throw new Error('Chromium is not installed: apt-get install -y chromium (.ci/run does it)');
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    // Without these Chromium reaches for Google's hosts at start, which this network refuses.
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    `--user-data-dir=${join(dir, 'chromium')}`,
    '--virtual-time-budget=30000',
    '--dump-dom',
    url,
  ];
  const { stdout } = await run(CHROMIUM, args, { maxBuffer: 64 * 1024 * 1024, timeout: 150_000 });
  return stdout;
}

describe('the API reference page', () => {
  it('serves the page and its assets from the API itself', async () => {
    const page = await fetch(`${gateway.url}/v1/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    // Nothing from elsewhere: every script and stylesheet is relative to /v1/docs.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css', 'init.js']) {
      const res = await fetch(`${gateway.url}/v1/docs/${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.text()).length, asset).toBeGreaterThan(100);
    }
    const missing = await fetch(`${gateway.url}/v1/docs/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('renders every operation in headless Chromium', async () => {
    const dom = await renderedDom(`${gateway.url}/v1/docs`);
    expect(dom).toContain('cardflow API');
    // swagger-ui gives each operation the id operations-<tag>-<operationId> (spaces in the tag as _).
    const missing = routeList.filter((r) => !dom.includes(`id="operations-${r.tag.replaceAll(' ', '_')}-${r.id}"`)).map((r) => r.id);
    expect(missing).toEqual([]);
    expect(dom).toContain('/v1/pipes/{pipeId}/cards');
  }, 180_000);
});
