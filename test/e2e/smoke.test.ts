/**
 * `npm run smoke` in CI: the smoke walk (infra/smoke/smoke.ts), run as the command a deployer
 * runs — a separate process, its exit code the verdict — against the local runtime `npm start`
 * serves (DynamoDB Local, the authorizing gateway, the unchanged handlers, the stream poller that
 * carries the synced value to the child). Exit 0 when every step passed; 1 naming the step that
 * failed; 2 for a usage mistake.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRuntime, type LocalRuntime } from '../../infra/local/runtime';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let runtime: LocalRuntime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-smoke-'));
  runtime = await startLocalRuntime({ port: 0, seed: false, quiet: true, keyFile: join(dir, 'key.json') });
});

afterAll(async () => {
  await runtime?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `npm run smoke -- <args>`, i.e. tsx infra/smoke/smoke.ts, in its own process. */
function smoke(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'infra/smoke/smoke.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, CARDFLOW_TOKEN: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('npm run smoke against the local runtime', () => {
  it('walks health → pipes → card → connection → child → sync → cleanup and exits 0', async () => {
    const token = await runtime.issuer.mintToken({ orgId: `org_smoke${Date.now().toString(36)}`, role: 'admin' });
    const run = await smoke(['--url', runtime.url, '--token', token, '--timeout', '60']);
    expect(run.stderr, run.stdout).not.toMatch(/FAILED/);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/^ok {3}health/m);
    expect(run.stdout).toMatch(/^ok {3}cleanup \(\d+ items\)/m);
    expect(run.stdout).toContain('smoke: passed');
  });

  it('exits 1 at the first failure, naming the step (a token the API refuses)', async () => {
    const run = await smoke(['--url', runtime.url, '--token', 'not-a-token']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/smoke: FAILED: .+/);
    expect(run.stdout).not.toContain('smoke: passed');
  });

  it('exits 2 without a URL or token', async () => {
    const run = await smoke(['--url', runtime.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: npm run smoke');
  });
});
