/**
 * The parts of the local gateway that reach the table: the API-token lookup of the authorizer,
 * and the default loader, which imports the real area handlers (they read TABLE_NAME).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/api/routes';
import { createDevIssuer } from '../../infra/local/dev-issuer';
import { defaultHandlerLoader, startGateway, type RunningGateway } from '../../infra/local/gateway';

let dir: string;
let gateway: RunningGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-gateway-store-'));
  const issuer = await createDevIssuer({ keyFile: join(dir, 'key.json') });
  gateway = await startGateway({
    issuer,
    port: 0,
    quiet: true,
    loadHandler: async () => async () => ({ statusCode: 200, body: '{}' }),
  });
});

afterAll(async () => {
  await gateway?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the authorizer with API tokens', () => {
  it('refuses an API token it does not know, and a malformed one without a lookup', async () => {
    const unknown = await fetch(`${gateway.url}/v1/pipes`, { headers: { authorization: `Bearer cft_${'A'.repeat(43)}` } });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { detail: string }).detail).toContain('unknown or revoked');
    const malformed = await fetch(`${gateway.url}/v1/pipes`, { headers: { authorization: 'Bearer cft_short' } });
    expect(malformed.status).toBe(401);
    expect(((await malformed.json()) as { detail: string }).detail).toContain('malformed');
  });
});

describe('the default handler loader', () => {
  const load = defaultHandlerLoader();

  it("imports the route's area entry, functions/api/areas/<area>.ts, and returns its handler", async () => {
    await expect(load({ ...routes.health, id: 'health' })).resolves.toBeTypeOf('function');
    // records is served by the databases area: one handler for both modules
    const records = await load({ ...routes.getRecord, id: 'getRecord' });
    expect(records).toBe(await load({ ...routes.getDatabase, id: 'getDatabase' }));
  });

  it('names an area entry that is not there', async () => {
    await expect(load({ ...routes.health, id: 'x', handler: { module: 'does-not-exist', export: 'x' } })).rejects.toThrow(
      /functions\/api\/areas\/does-not-exist\.ts could not be loaded/,
    );
  });
});
