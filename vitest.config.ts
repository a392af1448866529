import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/support/sequencer';

// Node 20 is what these machines run; the SDK's notice about future releases is noise in test output.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

/**
 * Four layers, one config. Only the layers that talk to a database start DynamoDB Local
 * (test/support/global-setup.ts): `npm run test:unit` and `npm run test:infra` need no Java
 * and run in seconds; `npm test` runs every project.
 */
const withDynamo = { globalSetup: ['test/support/global-setup.ts'], setupFiles: ['test/support/dynamo-slot.ts'] };

export default defineConfig({
  test: {
    // Generous: parallel suites on two cores stretch a 20 s scenario past 30 s; CI alone runs far below.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Files run on (cores - 1) workers, each with its own DynamoDB Local (test/support/global-setup.ts).
    // That is one at a time on two cores, where .ci/run sets VITEST_MAX_WORKERS=2: most of a
    // stream-heavy file's time is waiting, so two side by side keep both cores busy. Not the
    // default here, because on a two-core machine that others load too, a request can then
    // outlast the 10 s API timeout of the tests.
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // Handler entries read their configuration at import, as in Lambda; infra tests import them
      // to check exports and never call the table.
      { extends: true, test: { name: 'infra', include: ['test/infra/**/*.test.ts'], env: { TABLE_NAME: 'cardflow-infra-tests' } } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/fuzz/**/*.test.ts'], ...withDynamo } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...withDynamo } },
    ],
  },
});
