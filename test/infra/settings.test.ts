/** Context → settings → stack names: what `cdk synth -c key=value` accepts and refuses. */
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_THROTTLE, readSettings } from '../../infra/stacks/settings';
import { buildStacks } from './synth';

const settingsFor = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

describe('settings from context', () => {
  it('defaults to the dev stage of infra/stages.ts: retain, own user pool, default throttling', () => {
    expect(settingsFor({})).toEqual({
      stage: 'dev',
      removalPolicy: RemovalPolicy.RETAIN,
      throttle: DEFAULT_THROTTLE,
      logRetention: 30,
      corsOrigins: [],
    });
  });

  it('an unlocked stage (dev) takes experiments from context', () => {
    expect(settingsFor({ removalPolicy: 'destroy', throttleRate: '5' })).toMatchObject({ removalPolicy: RemovalPolicy.DESTROY, throttle: { rateLimit: 5 } });
  });

  it('names the stacks after the stage', () => {
    const { data, api, streams } = buildStacks({ stage: 'staging' });
    expect([data.stackName, api.stackName, streams.stackName]).toEqual(['staging-Cardflow-Data', 'staging-Cardflow-Api', 'staging-Cardflow-Streams']);
    // references (and so dependencies) are resolved at synthesis
    Template.fromStack(api);
    Template.fromStack(streams);
    expect(api.dependencies).toContain(data);
    expect(streams.dependencies).toContain(data);
  });

  it('splits and trims the audience list', () => {
    expect(settingsFor({ jwtIssuer: 'https://issuer.example.com', jwtAudience: ' a ,b,, c' }).jwt).toEqual({
      issuer: 'https://issuer.example.com',
      audience: ['a', 'b', 'c'],
    });
  });

  it.each([
    [{ stage: 'Prod!' }, /stage/],
    [{ removalPolicy: 'snapshot' }, /removalPolicy/],
    [{ stage: 'prod', removalPolicy: 'destroy' }, /refused/],
    [{ stage: 'nowhere' }, /not in infra\/stages\.ts/],
    [{ throttleRate: 'fast' }, /throttleRate/],
    [{ throttleBurst: '0' }, /throttleBurst/],
    [{ jwtIssuer: 'http://insecure.example.com', jwtAudience: 'a' }, /https/],
    [{ jwtAudience: 'a' }, /jwtIssuer/],
  ])('refuses %o', (context, message) => {
    expect(() => settingsFor(context)).toThrow(message);
  });
});
