/**
 * cdk.json sets every feature flag aws-cdk-lib recommends for new apps (what `cdk init` writes),
 * so no behaviour of the deployed stacks depends on a library default that later changes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CDK_JSON_CONTEXT } from './synth';

const require = createRequire(import.meta.url);
const recommended: Record<string, unknown> = JSON.parse(readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'));

describe('CDK feature flags', () => {
  it('sets every recommended flag of this aws-cdk-lib to its recommended value', () => {
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    const differing = Object.entries(recommended).filter(([flag, value]) => JSON.stringify(CDK_JSON_CONTEXT[flag]) !== JSON.stringify(value));
    expect(differing).toEqual([]);
  });
});
