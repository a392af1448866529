/**
 * `npm start` and `npm run token` as a developer meets them: the printed curl line works when
 * pasted, a token from `npm run token` works against the running start, problems are one
 * clear line, and stopping leaves no DynamoDB Local behind.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, isPortTaken } from '../../infra/local/dynamodb-local';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardflow-cli-'));
  env = { ...process.env, CARDFLOW_DEV_KEY_FILE: join(dir, 'key.json') };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const script = (name: string) => [process.execPath, ['--import', 'tsx', `infra/local/${name}.ts`]] as const;

function runScript(name: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const [node, base] = script(name);
  return spawnSync(node, [...base, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 30_000 });
}

function startCli(args: string[]): { child: ChildProcessWithoutNullStreams; output: () => string; ready: Promise<string> } {
  const [node, base] = script('start');
  const child = spawn(node, [...base, ...args], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  const ready = new Promise<string>((resolveReady, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      // Ready once the banner is out and, unless seeding is off, the demo is seeded.
      // The curl line is printed last, once the demo is there to see.
      if (
        stdout.includes('Ctrl+C stops everything.') &&
        (args.includes('--no-seed') || /Demo: (organization|NOT seeded)/.test(stdout)) &&
        /^\s+curl -s .*\n/m.test(stdout)
      )
        resolveReady(stdout);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${stdout}\n${stderr}`)));
  });
  return { child, output: () => `${stdout}\n${stderr}`, ready };
}

describe('npm start', () => {
  it('starts, prints a working curl line and token hint, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const { child, ready } = startCli(['--port', String(port), '--quiet']);
    try {
      const banner = await ready;
      expect(banner).toContain(`http://localhost:${port}/v1/openapi.json`);
      expect(banner).toContain(`http://localhost:${port}/v1/docs`);
      const docs = await fetch(`http://localhost:${port}/v1/docs`);
      expect([docs.status, docs.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
      expect(banner).toContain('npm run token -- --org demo --role member');
      const dynamoPort = Number(/DynamoDB\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1]);
      expect(dynamoPort).toBeGreaterThan(0);

      // The curl line, exactly as printed, and only after the seed: pasted at once, it shows the demo.
      const curlLine = banner
        .split('\n')
        .find((line) => line.trim().startsWith('curl '))!
        .trim();
      expect(banner.indexOf(curlLine)).toBeGreaterThan(banner.search(/Demo: organization demo seeded/));
      expect(banner.search(/Demo: organization demo seeded/)).toBeGreaterThan(0);
      expect(curlLine).toMatch(new RegExp(`^curl -s -H "Authorization: Bearer [\\w-]+\\.[\\w-]+\\.[\\w-]+" http://localhost:${port}/v1/pipes$`));
      const curl = spawnSync('sh', ['-c', curlLine], { encoding: 'utf8' });
      if (curl.error === undefined && curl.status !== 127) {
        expect(JSON.parse(curl.stdout).items.map((p: { name: string }) => p.name)).toContain('Recruiting');
      }

      // A token from npm run token, signed with the same persisted key, works against it.
      const token = runScript('token', ['--org', 'demo', '--role', 'viewer', '--sub', 'cli-test']);
      expect(token.status).toBe(0);
      expect(token.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const pipes = await fetch(`http://localhost:${port}/v1/pipes`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
      expect(pipes.status).toBe(200);

      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await isPortTaken(port)).toBe(false);
      expect(await isPortTaken(dynamoPort)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses a port in use with one clear line', async () => {
    const blocker: Server = createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const result = runScript('start', ['--port', String(port)]);
      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toBe(
        `Port ${port} is already in use (another npm start, or another server); stop what uses it or run npm start -- --port ${port + 1}`,
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('says in one line that Java is missing', () => {
    const result = runScript('start', ['--port', '1'], { PATH: dir });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('Java 17 or newer is needed');
  });

  it('rejects unknown arguments with the usage line', () => {
    const result = runScript('start', ['--prot', '3000']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Unknown option '--prot'.*Usage: npm start/);
  });
});

describe('npm run token', () => {
  it('refuses an unknown role', () => {
    const result = runScript('token', ['--org', 'demo', '--role', 'owner']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--role must be one of viewer, member, admin');
  });

  it('requires an organization', () => {
    const result = runScript('token', ['--role', 'member']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--org is required');
  });
});
