/**
 * Tracing as shipped (functions/shared/tracer.ts): an API area bundle, built with the stacks'
 * options, run in a fresh Node process with the environment Lambda gives a function with active
 * tracing. The X-Ray SDK (whose cls-hooked namespace puts an async hook on every promise) is a
 * file beside the bundle, loaded only for a sampled invocation, and then the trace is whole: the handler subsegment
 * and the DynamoDB call reach the X-Ray daemon (a UDP socket of this test). Untraced and
 * unsampled invocations never load it and send nothing.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_BUILD_OPTIONS, TRACER_CHUNK, tracerChunkOptions } from '../../infra/bundling/options';
import { REPO_ROOT } from '../../infra/stacks/house-function';
import { tracingEnabled } from '../../functions/shared/tracer';

/** Calls the handler once with a GET of a missing pipe; prints the status and the cls namespaces the X-Ray SDK created. */
const PROBE = `
const mod = await import(process.argv[1]);
const id = 'pipe_01JD0000000000000000000000';
const event = { version: '2.0', routeKey: 'GET /v1/pipes/{pipeId}', rawPath: '/v1/pipes/' + id, rawQueryString: '', headers: {}, pathParameters: { pipeId: id },
  requestContext: { requestId: 'r1', http: { method: 'GET', path: '/v1/pipes/' + id }, authorizer: { lambda: { orgId: 'org_t', role: 'admin', sub: 's' } } }, isBase64Encoded: false };
const result = await mod.handler(event, { awsRequestId: 'r1', functionName: 'f', getRemainingTimeInMillis: () => 10000 });
process.stdout.write('\\n' + JSON.stringify({ status: result.statusCode, namespaces: Object.keys(process.namespaces ?? {}) }) + '\\n');
`;

let dir: string;
let file: string;
let bundleInputs: string[] = [];
const daemon = createSocket('udp4');
let segments: Array<{ name: string; namespace?: string; aws?: { operation?: string } }> = [];
daemon.on('message', (m) => {
  // "{header}\n{segment}"
  segments.push(JSON.parse(m.toString().split('\n')[1]!));
});

beforeAll(async () => {
  // Inside the repository, so the external @aws-sdk/* resolves from node_modules as from the runtime.
  await mkdir(join(REPO_ROOT, 'bench/.out'), { recursive: true });
  dir = await mkdtemp(join(REPO_ROOT, 'bench/.out/tracing-'));
  file = join(dir, 'index.mjs');
  const result = await build({ ...LAMBDA_BUILD_OPTIONS, entryPoints: [join(REPO_ROOT, 'functions/api/areas/pipes.ts')], absWorkingDir: REPO_ROOT });
  await writeFile(file, result.outputFiles!.find((f) => f.path.endsWith('.mjs'))!.contents);
  bundleInputs = Object.keys(result.metafile!.inputs);
  // As HouseFunction ships it: the Tracer in its own file beside the bundle.
  await build(tracerChunkOptions(REPO_ROOT, dir));
  await new Promise<void>((ready) => daemon.bind(0, '127.0.0.1', ready));
}, 60_000);

afterAll(async () => {
  daemon.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function invoke(env: Record<string, string>) {
  segments = [];
  const out = await new Promise<string>((done, fail) =>
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE, pathToFileURL(file).href],
      {
        cwd: REPO_ROOT,
        timeout: 30_000,
        env: {
          PATH: process.env['PATH'] ?? '',
          // Nothing listens there: the one read fails at once, a 500, still a traced call.
          AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
          AWS_MAX_ATTEMPTS: '1',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          TABLE_NAME: 'tracing-test',
          CURSOR_SIGNING_KEY: Buffer.alloc(32, 1).toString('base64'),
          POWERTOOLS_LOG_LEVEL: 'CRITICAL',
          POWERTOOLS_METRICS_DISABLED: 'true',
          ...env,
        },
      },
      (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
    ),
  );
  // Datagrams sent just before the process ended.
  await new Promise((r) => setTimeout(r, 200));
  return JSON.parse(out.trim().split('\n').pop()!) as { status: number; namespaces: string[] };
}

const lambda = (sampled: 0 | 1) => ({
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_NAME: 'cardflow-pipes',
  LAMBDA_TASK_ROOT: REPO_ROOT,
  _HANDLER: 'index.handler',
  _X_AMZN_TRACE_ID: `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=${sampled}`,
  AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
});

describe('X-Ray tracing in the shipped bundle', () => {
  it('follows Powertools on when tracing is on', () => {
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' })).toBe(true);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', AWS_SAM_LOCAL: 'true' })).toBe(false);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' })).toBe(false);
    expect(tracingEnabled({})).toBe(false);
  });

  it('keeps the Tracer and the X-Ray SDK out of the bundle, in a file beside it', async () => {
    expect(bundleInputs.filter((p) => /aws-xray-sdk|powertools\/tracer|cls-hooked/.test(p))).toEqual([]);
    expect((await stat(join(dir, TRACER_CHUNK.file))).size).toBeGreaterThan(50_000);
  });

  it('a sampled invocation in Lambda sends the handler subsegment and the DynamoDB call', async () => {
    const result = await invoke(lambda(1));
    expect(result.status).toBe(500);
    expect(result.namespaces.length).toBeGreaterThan(0);
    expect(segments.map((s) => s.name).sort()).toEqual(['## index.handler', 'DynamoDB']);
    expect(segments.find((s) => s.name === 'DynamoDB')?.aws?.operation).toBe('Query');
  }, 60_000);

  it('an unsampled invocation never loads the X-Ray SDK', async () => {
    const result = await invoke(lambda(0));
    expect(result.status).toBe(500);
    expect(result.namespaces).toEqual([]);
    expect(segments).toEqual([]);
  }, 60_000);

  it('with tracing off (npm start, tests) nothing loads, even for a sampled header', async () => {
    const result = await invoke({ ...lambda(1), POWERTOOLS_TRACE_ENABLED: 'false' });
    expect(result.status).toBe(500);
    expect(result.namespaces).toEqual([]);
    expect(segments).toEqual([]);
  }, 60_000);
});
