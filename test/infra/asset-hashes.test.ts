/**
 * Stable asset hashes: the same code synthesized into two different output directories gives
 * the same Lambda asset hashes (and so the same templates). The bundles are really built here
 * (esbuild, as `cdk synth` does) for the streams stack's functions, the smallest set that
 * exercises HouseFunction's bundling. What used to differ: esbuild's source map paths, relative
 * to a temporary directory inside the assembly (infra/bundling/stable-sourcemap.mjs).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { createCardflowStacks } from '../../infra/stacks/cardflow';
import { readSettings } from '../../infra/stacks/settings';
import { CDK_JSON_CONTEXT, resourcesOf } from './synth';

// At different depths: paths relative to the assembly would differ in their "../" count.
const roots = [mkdtempSync(join(tmpdir(), 'cardflow-synth-a-')), mkdtempSync(join(tmpdir(), 'cardflow-synth-b-'))];
const dirs = [roots[0]!, join(roots[1]!, 'nested', 'deeper')];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

function synthInto(outdir: string) {
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, stage: 'prod', 'aws:cdk:bundling-stacks': ['prod-Cardflow-Streams'] } });
  const stacks = createCardflowStacks(app, readSettings(app.node));
  const template = Template.fromStack(stacks.streams).toJSON();
  app.synth();
  return template;
}

const [a, b] = dirs.map(synthInto) as [Record<string, any>, Record<string, any>];
const assetKeys = (t: Record<string, any>) =>
  Object.values(resourcesOf({ toJSON: () => t } as Template, 'AWS::Lambda::Function')).map((fn) => fn.Properties!.Code.S3Key as string);

describe('asset hashes', () => {
  it('are the same whatever the output directory', () => {
    expect(assetKeys(a).length).toBeGreaterThanOrEqual(2);
    expect(assetKeys(a).every((k) => /^[0-9a-f]{64}\.zip$/.test(k))).toBe(true);
    expect(assetKeys(b)).toEqual(assetKeys(a));
    expect(b).toEqual(a);
  });

  it('the bundles carry source maps relative to the project root, not to the assembly', () => {
    for (const dir of dirs) {
      const assets = readdirSync(dir).filter((f) => f.startsWith('asset.'));
      expect(assets.length).toBeGreaterThanOrEqual(2);
      for (const asset of assets) {
        const map = JSON.parse(readFileSync(join(dir, asset, 'index.mjs.map'), 'utf8')) as { sources: string[] };
        expect(map.sources.some((s) => s.startsWith('functions/'))).toBe(true);
        for (const source of map.sources) {
          expect(source).not.toMatch(/^\.\.\/|^\/|bundling-temp|cardflow-synth/);
        }
      }
    }
  });
});
