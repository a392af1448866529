/**
 * Webhook SSRF guard in the deployment: the local-only loopback allowance
 * (WEBHOOK_ALLOW_LOOPBACK, which the local runtime and the tests set so receivers on 127.0.0.1
 * can be reached) is never set on any deployed function, in any stage.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildStacks, resourcesOf } from './synth';

const ALLOWANCE = 'WEBHOOK_ALLOW_LOOPBACK';
// One synthesis for the file (synthesis is the slow part); prod is the stage that matters most.
const templates = Object.values(buildStacks({ stage: 'prod' })).map((stack) => Template.fromStack(stack));

describe('the loopback allowance stays local', () => {
  it('no function of any stack carries it in its environment', () => {
    let functions = 0;
    for (const template of templates) {
      for (const fn of Object.values(resourcesOf(template, 'AWS::Lambda::Function'))) {
        functions++;
        expect(Object.keys(fn.Properties?.Environment?.Variables ?? {})).not.toContain(ALLOWANCE);
      }
    }
    expect(functions).toBeGreaterThan(0);
  });

  it('no CDK source mentions it (only infra/local/ and the tests do)', () => {
    const dir = path.resolve(__dirname, '../../infra/stacks');
    const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(readFileSync(path.join(dir, file), 'utf8'), file).not.toContain(ALLOWANCE);
    expect(readFileSync(path.resolve(__dirname, '../../infra/app.ts'), 'utf8')).not.toContain(ALLOWANCE);
  });
});
