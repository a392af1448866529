/**
 * `npm start [-- --port 3000] [--data <dir>] [--dynamo-port <port>] [--no-seed] [--metrics <file|->]`
 *
 * DynamoDB Local + the local API gateway in front of the unchanged handlers, the demo
 * organization seeded through the API, and a token to try it with.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isOrigin } from '../../functions/api/cors';
import { apiPolicy } from '../../functions/api/rate-limit';
import { fail, parseCli } from './cli';
import { assertJava, isPortTaken, JavaMissingError } from './dynamodb-local';
import { startLocalRuntime, type LocalRuntime } from './runtime';
import { DEMO_ORG, seedDemo, type SeedResult } from './seed';

const USAGE =
  'Usage: npm start -- [--port 3000] [--data <dir>] [--dynamo-port <port>] [--no-seed] [--quiet] [--cors-origins <origin,origin>] [--metrics <file|->]';

function portArg(value: string | undefined, name: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) fail(`--${name} must be a port number (1-65535), not "${value}". ${USAGE}`);
  return port;
}

const portInUse = (port: number) =>
  `Port ${port} is already in use (another npm start, or another server); stop what uses it or run npm start -- --port ${port + 1}`;

let showAccessLog = false;

async function main() {
  // These machines run Node.js 20; the SDK's notice about its future releases is noise here.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const values = parseCli(
    {
      port: { type: 'string' },
      data: { type: 'string' },
      'dynamo-port': { type: 'string' },
      'no-seed': { type: 'boolean' },
      quiet: { type: 'boolean' },
      'cors-origins': { type: 'string' },
      metrics: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = portArg(values.port, 'port', 3000)!;
  const dynamoPort = portArg(values['dynamo-port'], 'dynamo-port');
  const corsOrigins = (values['cors-origins'] ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (!isOrigin(origin)) fail(`--cors-origins takes origins such as http://localhost:5173 (scheme, host, port; no path), not "${origin}". ${USAGE}`);
  }

  try {
    assertJava();
  } catch (error) {
    if (error instanceof JavaMissingError) fail(error.message);
    throw error;
  }
  if (await isPortTaken(port)) fail(portInUse(port));

  // The handlers' EMF metric lines (one or more per request) would flood this console: they go to
  // a file, as they go to the function's log stream in AWS. `--metrics -` prints them here instead.
  // Default: next to the data (appended across restarts), or for in-memory data a file of this
  // port's run in the temp directory, started afresh (the data of a previous run is gone).
  const metricsFile =
    values.metrics === '-'
      ? undefined
      : (values.metrics ?? (values.data ? join(values.data, 'metrics.ndjson') : join(tmpdir(), `cardflow-${port}-metrics.ndjson`)));
  if (metricsFile && values.metrics === undefined && !values.data) await writeFile(metricsFile, '');

  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      port,
      seed: false,
      // The seed's requests are not the user's: access lines start once the banner is out.
      log: (line) => {
        if (showAccessLog) console.log(line);
      },
      ...(values.data ? { dataDir: values.data } : {}),
      ...(dynamoPort !== undefined ? { dynamoPort } : {}),
      ...(values.quiet ? { quiet: true } : {}),
      ...(corsOrigins.length ? { corsOrigins } : {}),
      // The published limit (API_THROTTLE_RATE / API_THROTTLE_BURST to change it): 429s as the API gives them.
      throttle: apiPolicy(),
      ...(metricsFile ? { metricsFile } : {}),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(portInUse(port));
    fail(`Could not start the local runtime: ${(error as Error).message}`);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A second Ctrl+C: leave now; the exit hook still kills DynamoDB Local.
      process.exit(130);
    }
    stopping = true;
    console.log(`\n${signal}: stopping the gateway and DynamoDB Local…`);
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`Stopping failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  // The banner (with a working token) comes first: the seed takes a few seconds, and the API
  // answers meanwhile.
  const token = await runtime.issuer.mintToken({ orgId: DEMO_ORG, role: 'admin', sub: 'demo-admin', expiresIn: '12h' });
  const storage = values.data ? `data kept in ${values.data}` : 'in memory: gone when you stop';
  console.log(
    [
      '',
      'cardflow local runtime is up',
      `  API       ${runtime.url}/v1`,
      `  OpenAPI   ${runtime.url}/v1/openapi.json`,
      `  Docs      ${runtime.url}/v1/docs   (API reference, works offline)`,
      `  Health    ${runtime.url}/v1/health`,
      `  DynamoDB  ${runtime.dynamoEndpoint} (table ${runtime.tableName}, ${storage})`,
      runtime.metricsFile
        ? `  Metrics   ${relative(process.cwd(), runtime.metricsFile) || runtime.metricsFile}   (CloudWatch EMF lines, as the functions emit them; --metrics - prints them here)`
        : '  Metrics   printed on this console (EMF lines, as the functions emit them)',
      '',
      `Admin token for organization ${DEMO_ORG} (valid 12h):`,
      token,
      '',
      `Other roles: npm run token -- --org ${DEMO_ORG} --role member   (viewer | member | admin; --sub <user>, --expires 1h)`,
      'Machines: an admin creates an API token (cft_…) with POST /v1/tokens; see the README.',
      'Ctrl+C stops everything.',
      '',
    ].join('\n'),
  );
  // The curl comes once there is something to see: after the seed, not before it.
  const tryLine = ['Try:', `  curl -s -H "Authorization: Bearer ${token}" ${runtime.url}/v1/pipes`, ''].join('\n');
  if (values['no-seed']) console.log(tryLine);
  if (!values['no-seed']) {
    console.log(`Demo: seeding organization ${DEMO_ORG} (the API answers meanwhile; the demo pipes appear when this is done)…`);
    try {
      const seeded: SeedResult = await seedDemo({ url: runtime.url, issuer: runtime.issuer });
      console.log(
        `Demo: organization ${seeded.orgId} ${seeded.created.pipe ? 'seeded' : 'already there'}: pipes ${Object.keys(seeded.pipes).join(', ')}; databases ${Object.keys(seeded.databases).join(', ')}\n`,
      );
      console.log(tryLine);
    } catch (error) {
      console.log(`Demo: NOT seeded. ${(error as Error).message}\n`);
      console.log(tryLine);
    }
  }
  showAccessLog = true;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
