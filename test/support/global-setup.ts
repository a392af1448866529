/**
 * Starts DynamoDB Local for the test run, one per vitest worker, and creates the table in each
 * from the shared definition. Test files isolate themselves by organization id and share a table;
 * test/support/dynamo-slot.ts points each file at its worker's instance. One process per worker
 * because DynamoDB Local answers every request through a single SQLite queue: two stream-heavy
 * files on one instance wait on each other, on two they use both cores.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { ensureTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal, type LocalDynamo } from '../../infra/local/dynamodb-local';

/**
 * JVM options that roughly halve DynamoDB Local's CPU time over a test run on a small machine:
 * the client compiler only (the optimizing one costs more CPU than a run of a few minutes gains
 * back) and a single-threaded collector (its heap stays small).
 */
export const TEST_JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

export const ENDPOINTS_VARIABLE = 'CARDFLOW_TEST_DYNAMO_ENDPOINTS';

interface Shared {
  started: Promise<LocalDynamo[]>;
  projects: number;
}

// The integration and e2e projects both name this setup; they share one set of instances.
const registry = globalThis as { __cardflowTestDynamo?: Shared };

export default async function setup(project: TestProject) {
  const instances = Math.max(1, Number(project.globalConfig.maxWorkers) || 1);
  const shared = (registry.__cardflowTestDynamo ??= {
    projects: 0,
    started: Promise.all(
      Array.from({ length: instances }, async () => {
        const dynamo = await startDynamoDbLocal({ jvmOptions: TEST_JVM_OPTIONS });
        await ensureTable(dynamo.endpoint, 'cardflow-test');
        return dynamo;
      }),
    ),
  });
  shared.projects++;
  const dynamos = await shared.started;
  // Workers inherit this environment: the SDK reads the endpoint variable itself, exactly as
  // the deployed functions read their configuration. No other seam exists.
  Object.assign(process.env, {
    [ENDPOINTS_VARIABLE]: dynamos.map((d) => d.endpoint).join(','),
    AWS_ENDPOINT_URL_DYNAMODB: dynamos[0]!.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    TABLE_NAME: 'cardflow-test',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    // EMF metric lines on stdout are noise in test output; the metrics test turns them back on.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
  });
  // The local key that encrypts webhook secrets (KMS in AWS), and the key cursors are signed
  // with: one per test run (as npm start does), the same for every project.
  process.env['SECRETS_LOCAL_KEY'] ??= randomBytes(32).toString('base64');
  process.env['CURSOR_SIGNING_KEY'] ??= randomBytes(32).toString('base64');
  return async () => {
    if (--shared.projects > 0) return;
    delete registry.__cardflowTestDynamo;
    await Promise.all(dynamos.map((d) => d.stop()));
  };
}
