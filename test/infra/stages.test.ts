/**
 * The stage file (infra/stages.ts) is the only source of a stage's settings. `cdk synth -c
 * stage=prod` and nothing else: prod's authorizer, throttles, retention and removal policy come
 * from the file, cannot change by leaving a flag out (there is none to leave out) and cannot be
 * changed by adding one. Two syntheses give the same templates. A stage with a missing or bad
 * value, or an unknown stage, fails the synth naming the stage and the key.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../infra/stacks/settings';
import { STAGES } from '../../infra/stages';
import { buildStacks, onlyResource, resourcesOf } from './synth';

const prod = buildStacks({ stage: 'prod' });
const api = Template.fromStack(prod.api);
const settingsFor = (context: Record<string, unknown>, stages?: Record<string, unknown>) => readSettings(new App({ context }).node, stages);

describe('prod from the stage file', () => {
  it('is pinned here: changing prod means changing this test too', () => {
    // A second, deliberate edit: who changes prod's issuer or throttles changes this line too.
    expect(STAGES.prod).toEqual({
      locked: true,
      auth: { kind: 'ownPool' },
      throttle: { rateLimit: 500, burstLimit: 1000 },
      logRetentionDays: 365,
      removalPolicy: 'retain',
      corsOrigins: [],
      alarmEmail: null,
      domain: null,
    });
  });

  it("trusts its own user pool's ID tokens: the pool's issuer and the client's audience", () => {
    const [poolId] = onlyResource(api, 'AWS::Cognito::UserPool');
    const [clientId] = onlyResource(api, 'AWS::Cognito::UserPoolClient');
    api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          JWT_ISSUER: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [poolId, 'ProviderURL'] }]] },
          JWT_AUDIENCE: { Ref: clientId },
        }),
      },
    });
  });

  it('throttles at 500 requests per second, bursts of 1000', () => {
    const [, stage] = onlyResource(api, 'AWS::ApiGatewayV2::Stage');
    expect(stage.Properties!.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
  });

  it('keeps logs a year and retains its data', () => {
    for (const stack of [prod.api, prod.streams]) {
      const logGroups = Object.values(resourcesOf(Template.fromStack(stack), 'AWS::Logs::LogGroup'));
      expect(logGroups.length).toBeGreaterThan(0);
      for (const lg of logGroups) {
        expect(lg.Properties!.RetentionInDays).toBe(365);
        expect(lg.DeletionPolicy).toBe('Retain');
      }
    }
    const [, table] = onlyResource(Template.fromStack(prod.data), 'AWS::DynamoDB::GlobalTable');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(prod.data.terminationProtection).toBe(true);
  });

  it.each([
    { jwtIssuer: 'https://other.example.com/', jwtAudience: 'x' },
    { throttleRate: '100' },
    { throttleBurst: '200' },
    { removalPolicy: 'destroy' },
    { removalPolicy: 'retain' },
  ])('refuses the flag %o instead of applying or ignoring it', (flag) => {
    expect(() => settingsFor({ stage: 'prod', ...flag })).toThrow(/Stage "prod" is locked.*refused context -c /);
  });

  it('synthesizes the same templates every time', () => {
    const again = buildStacks({ stage: 'prod' });
    for (const key of ['data', 'api', 'streams'] as const) {
      expect(Template.fromStack(again[key]).toJSON()).toEqual(Template.fromStack(prod[key]).toJSON());
    }
  });
});

describe('the stage file', () => {
  it.each(Object.keys(STAGES))('stage %s is complete and valid', (stage) => {
    expect(settingsFor({ stage }).stage).toBe(stage);
  });

  it('an unknown stage fails, naming the stages there are', () => {
    expect(() => settingsFor({ stage: 'qa' })).toThrow(/Stage "qa" is not in infra\/stages\.ts \(stages: dev, staging, test, prod\)/);
  });

  it.each([
    ['throttle', /Stage "prod" in infra\/stages\.ts is incomplete or invalid: throttle is missing/],
    ['auth', /auth is missing/],
    ['logRetentionDays', /logRetentionDays is missing/],
    ['removalPolicy', /removalPolicy is missing/],
    ['alarmEmail', /alarmEmail is missing/],
  ])('a stage without %s fails the synth and says which key', (key, message) => {
    const { [key as keyof typeof STAGES.prod]: _omitted, ...rest } = STAGES.prod;
    expect(() => settingsFor({ stage: 'prod' }, { prod: rest })).toThrow(message);
  });

  it.each([
    [{ auth: { kind: 'jwt', issuer: 'https://auth.example.com/' } }, /auth\.audience is missing/],
    [{ auth: { kind: 'jwt', issuer: 'http://auth.example.com/', audience: ['a'] } }, /auth\.issuer: must be an https URL/],
    [{ throttle: { rateLimit: 0, burstLimit: 10 } }, /throttle\.rateLimit/],
    [{ logRetentionDays: 31 }, /logRetentionDays: must be one of/],
    [{ corsOrigins: ['https://app.example.com/'] }, /corsOrigins\.0: must be an origin/],
    [{ alarmEmail: 'on-call' }, /alarmEmail/],
  ])('a bad value fails the synth: %o', (patch, message) => {
    expect(() => settingsFor({ stage: 'prod' }, { prod: { ...STAGES.prod, ...patch } })).toThrow(message);
  });

  it('an external issuer in the file is what the authorizer trusts, with no user pool', () => {
    const stages = { ext: { ...STAGES.prod, auth: { kind: 'jwt', issuer: 'https://auth.example.com/', audience: ['cardflow-api'] } } };
    const s = settingsFor({ stage: 'ext' }, stages);
    expect(s.jwt).toEqual({ issuer: 'https://auth.example.com/', audience: ['cardflow-api'] });
  });

  describe('CORS origins, alarm e-mail and domain come from the file', () => {
    const stages = {
      web: {
        ...STAGES.dev,
        corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
        alarmEmail: 'oncall@example.com',
        domain: { name: 'api.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab' },
        logRetentionDays: 14,
        removalPolicy: 'destroy',
      },
    };
    const web = buildStacks({ stage: 'web' }, { stages });
    const webApi = Template.fromStack(web.api);

    it('allows exactly the listed origins, with the headers of functions/api/cors.ts', () => {
      webApi.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        CorsConfiguration: Match.objectLike({
          AllowOrigins: ['https://app.example.com', 'http://localhost:5173'],
          AllowHeaders: Match.arrayWith(['authorization', 'if-match']),
          ExposeHeaders: Match.arrayWith(['etag', 'retry-after']),
          AllowCredentials: false,
        }),
      });
    });

    it('subscribes the e-mail address to the alarm topic', () => {
      Template.fromStack(web.streams).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
      Template.fromStack(prod.streams).resourceCountIs('AWS::SNS::Subscription', 0);
    });

    it('maps the custom domain to the stage', () => {
      webApi.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'api.example.com' });
      webApi.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
      api.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    });

    it('takes log retention and removal policy from the file', () => {
      for (const lg of Object.values(resourcesOf(webApi, 'AWS::Logs::LogGroup'))) {
        expect(lg.Properties!.RetentionInDays).toBe(14);
        expect(lg.DeletionPolicy).toBe('Delete');
      }
      expect(web.data.terminationProtection).toBe(false);
    });
  });
});
