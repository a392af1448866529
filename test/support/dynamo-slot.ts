/**
 * Runs before each test file of the projects with DynamoDB Local: points the file (and whatever it
 * starts) at its worker's instance. Files running side by side have different pool ids, so each
 * instance serves one file at a time (test/support/global-setup.ts).
 */
// Set by global-setup.ts (ENDPOINTS_VARIABLE); not imported, to keep its imports out of every file.
const endpoints = (process.env['CARDFLOW_TEST_DYNAMO_ENDPOINTS'] ?? '').split(',').filter(Boolean);
if (endpoints.length) {
  const slot = (Number(process.env['VITEST_POOL_ID']) || 1) - 1;
  process.env['AWS_ENDPOINT_URL_DYNAMODB'] = endpoints[slot % endpoints.length];
}
