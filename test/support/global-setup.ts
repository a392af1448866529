/**
 * Starts one DynamoDB Local for the whole test run and creates the table from the shared
 * definition. Test files isolate themselves by organization id, so they share the table.
 */
import { randomBytes } from 'node:crypto';
import { ensureTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '../../infra/local/dynamodb-local';

export default async function setup() {
  const dynamo = await startDynamoDbLocal();
  const tableName = 'cardflow-test';
  await ensureTable(dynamo.endpoint, tableName);
  // Workers inherit this environment: the SDK reads the endpoint variable itself, exactly as
  // the deployed functions read their configuration. No other seam exists.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    TABLE_NAME: tableName,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    // EMF metric lines on stdout are noise in test output; the metrics test turns them back on.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    // The local key that encrypts webhook secrets (KMS in AWS), one per test run.
    SECRETS_LOCAL_KEY: randomBytes(32).toString('base64'),
    // Generated per run, as npm start does: cursors are signed with it.
    CURSOR_SIGNING_KEY: randomBytes(32).toString('base64'),
  });
  return async () => {
    await dynamo.stop();
  };
}
