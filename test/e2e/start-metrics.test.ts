/**
 * `npm start` keeps the handlers' EMF metric lines — the lines CloudWatch would read in AWS —
 * off the console: they go to a file the banner names (`--metrics <file>`; next to `--data`, or
 * a per-port file in the temp directory by default), and `--metrics -` prints them on the console.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/dynamodb-local';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-start-metrics-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(args: string[]): { child: ChildProcessWithoutNullStreams; output: () => string; ready: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/start.ts', '--no-seed', '--quiet', ...args], {
    cwd: ROOT,
    // As in a developer's shell: metrics on (the test setup turns them off for the other tests).
    env: { ...process.env, CARDFLOW_DEV_KEY_FILE: join(dir, 'key.json'), POWERTOOLS_METRICS_DISABLED: 'false' },
  });
  let stdout = '';
  let stderr = '';
  const ready = new Promise<string>((resolveReady, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (/^\s+curl -s .*\n/m.test(stdout)) resolveReady(stdout);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${stdout}\n${stderr}`)));
  });
  return { child, output: () => stdout, ready };
}

async function stop(child: ChildProcessWithoutNullStreams) {
  if (child.exitCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
}

const emfLines = (text: string) => text.split('\n').filter((line) => line.includes('"_aws"'));

describe('npm start metrics', () => {
  it('writes the EMF lines to the file the banner names, not to the console', async () => {
    const port = await freePort();
    const file = join(dir, 'metrics.ndjson');
    const { child, output, ready } = start(['--port', String(port), '--metrics', file]);
    try {
      const banner = await ready;
      expect(banner).toMatch(/Metrics +\S*metrics\.ndjson/);
      expect((await fetch(`http://localhost:${port}/v1/health`)).status).toBe(200);
      expect((await fetch(`http://localhost:${port}/v1/health`)).status).toBe(200);
      await stop(child);
      const lines = emfLines(await readFile(file, 'utf8')).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ route: 'health', ApiRequests: 1, ApiErrors: 0, service: 'cardflow' });
      expect(emfLines(output())).toEqual([]);
    } finally {
      await stop(child);
    }
  }, 120_000);

  it('prints them on the console with --metrics -', async () => {
    const port = await freePort();
    const { child, output, ready } = start(['--port', String(port), '--metrics', '-']);
    try {
      expect(await ready).toContain('Metrics   printed on this console');
      expect((await fetch(`http://localhost:${port}/v1/health`)).status).toBe(200);
      await expect.poll(() => emfLines(output()).length, { timeout: 10_000 }).toBe(1);
      expect(JSON.parse(emfLines(output())[0]!)).toMatchObject({ route: 'health', ApiRequests: 1 });
    } finally {
      await stop(child);
    }
  }, 120_000);
});
