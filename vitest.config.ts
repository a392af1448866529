import { defineConfig } from 'vitest/config';

// Node 20 is what these machines run; the SDK's notice about future releases is noise in test output.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Generous: eight parallel suites on two cores stretch a 20 s scenario past 30 s; CI alone runs far below.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
