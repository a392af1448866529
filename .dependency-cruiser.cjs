/**
 * Import rules, checked in CI by `npm run lint:deps` (dependency-cruiser).
 * The domain knows nothing of its adapters: HTTP and stream handlers (functions/), the CDK app
 * and the local runtime (infra/) depend on the domain, never the other way round.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle makes every module in it load, test and change together; break it (often by moving a type to a model module).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-stays-pure',
      severity: 'error',
      comment: 'domain/ is the rules and use cases; it must not reach into handlers, the CDK app, the local runtime, tests or benches.',
      from: { path: '^domain/' },
      to: { path: '^(functions|infra|test|bench)/' },
    },
    {
      name: 'handlers-not-infra',
      severity: 'error',
      comment: 'Lambda handlers are bundled alone; the CDK app and local runtime wrap them, not the other way round.',
      from: { path: '^functions/' },
      to: { path: '^(infra|test|bench)/' },
    },
    {
      name: 'no-test-code-in-product',
      severity: 'error',
      from: { path: '^(domain|functions|infra)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
