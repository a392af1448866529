/**
 * `npm run check:graph -- --org demo [--endpoint http://127.0.0.1:8000] [--table cardflow-local]`
 *
 * Checks the connection graph of one organization (domain/connections/invariants.ts): edge twins,
 * edge ends, child counts, entry limits, containers, definition copies, summaries. Prints a
 * summary and every violation; exits 1 if there is any.
 *
 * Without flags it reads TABLE_NAME and AWS_ENDPOINT_URL_DYNAMODB like the functions do; with
 * neither endpoint it talks to AWS with the default credentials and region. It Scans the whole
 * organization: an operator tool, never part of a request path.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { checkGraph } from '../../domain/connections/invariants';
import { fail, orgArg, parseCli } from './cli';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-local';

/** The table `npm start` creates (infra/local/runtime.ts LOCAL_TABLE_NAME). */
const LOCAL_TABLE = 'cardflow-local';

const USAGE = 'Usage: npm run check:graph -- --org <orgId> [--endpoint http://127.0.0.1:8000] [--table cardflow-local]';

const isLocal = (endpoint: string) => {
  try {
    return ['localhost', '127.0.0.1', '[::1]', '0.0.0.0'].includes(new URL(endpoint).hostname);
  } catch {
    return false;
  }
};

async function main() {
  const values = parseCli(
    {
      org: { type: 'string' },
      endpoint: { type: 'string' },
      table: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const org = orgArg(values.org, USAGE);

  const endpoint = values.endpoint ?? process.env['AWS_ENDPOINT_URL_DYNAMODB'];
  if (values.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(values.endpoint))
    fail(`--endpoint must be a URL such as http://127.0.0.1:8000, not "${values.endpoint}"`);
  // A local endpoint means npm start's table unless told otherwise; AWS needs the name.
  const table = values.table ?? process.env['TABLE_NAME'] ?? (endpoint ? LOCAL_TABLE : undefined);
  if (!table) fail(`Name the table: --table <name> or TABLE_NAME (npm start uses ${LOCAL_TABLE}). ${USAGE}`);

  // DynamoDB Local takes any credentials but the SDK insists on some; AWS gets the default chain.
  const local = endpoint !== undefined && isLocal(endpoint) && !process.env['AWS_ACCESS_KEY_ID'];
  const dynamo = new DynamoDBClient({
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
    ...(local ? { credentials: LOCAL_CREDENTIALS, region: process.env['AWS_REGION'] ?? LOCAL_REGION } : {}),
  });
  const doc = DynamoDBDocumentClient.from(dynamo);

  let report: Awaited<ReturnType<typeof checkGraph>>;
  try {
    report = await checkGraph(doc, table, org);
  } catch (error) {
    fail(`Could not read table ${table}${endpoint ? ` at ${endpoint}` : ''}: ${(error as Error).name}: ${(error as Error).message}`);
  } finally {
    dynamo.destroy();
  }
  const where = `table ${table}${endpoint ? ` at ${endpoint}` : ''}`;
  const n = report.violations.length;
  console.log(`Organization ${org} in ${where}: ${report.items} items, ${report.edges} edges, ${n} violation${n === 1 ? '' : 's'}`);
  if (report.items === 0) console.log(`  (no items at all: is "${org}" the right organization, and ${table} the right table?)`);
  for (const violation of report.violations) console.log(`  - ${violation}`);
  // A running cascade job is a documented in-progress state, not a violation.
  for (const note of report.inProgress) console.log(`  ~ in progress: ${note}`);
  process.exitCode = n > 0 ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
