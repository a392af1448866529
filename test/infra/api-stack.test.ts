/**
 * The API stack against the route manifest: one function per API area (functions/api/areas.ts),
 * one API route per manifest entry wired to its area's function, with the authorizer the
 * manifest declares and, per function, the strongest table access among its routes.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { apiAreas, areaOf } from '../../functions/api/areas';
import { routeList } from '../../functions/api/routes';
import { AUTHORIZER_CACHE_SECONDS } from '../../infra/stacks/authorizer';
import { INDEX_READ_ACTIONS, TABLE_READ_ACTIONS } from '../../infra/stacks/house-function';
import { DEFAULT_THROTTLE } from '../../infra/stacks/settings';
import { TABLE_DEFINITION } from '../../domain/kernel/table';
import { actionsOf, allStatements, buildStacks, grants, onlyResource, resourcesOf, statementsForRole } from './synth';

/** Actions that change data or the table; none may be granted to a read-only function. */
const WRITE_ACTIONS = [
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'PartiQLInsert',
  'PartiQLUpdate',
  'PartiQLDelete',
  'CreateTable',
  'UpdateTable',
  'DeleteTable',
  'UpdateTimeToLive',
  'UpdateContinuousBackups',
  'RestoreTableFromBackup',
  'RestoreTableToPointInTime',
  'DeleteBackup',
  'PutResourcePolicy',
  'DeleteResourcePolicy',
].map((a) => `dynamodb:${a}`);

const PUBLIC_ROUTE_KEYS = ['GET /v1/health', 'GET /v1/openapi.json', 'GET /v1/docs', 'GET /v1/docs/{asset}'];
const areas = apiAreas();

// Prepare (shared by the describe blocks below: one synthesis per file)
const { data, api } = buildStacks();
const template = Template.fromStack(api);
const dataTemplate = Template.fromStack(data);
const logicalId = (construct: { node: { defaultChild?: unknown } }) => api.getLogicalId(construct.node.defaultChild as CfnFunction | CfnRole);

function fnOfArea(area: string) {
  const fn = api.areaFunctions[area];
  if (!fn) throw new Error(`no function for area ${area}`);
  return fn;
}

describe('areas', () => {
  it('groups modules sharing domain code, and every route belongs to exactly one area', () => {
    expect(areaOf({ handler: { module: 'records', export: 'x' } })).toBe('databases');
    expect(areaOf({ handler: { module: 'children', export: 'x' } })).toBe('connections');
    expect(areaOf({ handler: { module: 'brand-new', export: 'x' } })).toBe('brand-new');
    expect(areas.flatMap((a) => a.routes.map((r) => r.id)).sort()).toEqual(routeList.map((r) => r.id).sort());
  });

  it('takes the strongest access among its routes', () => {
    for (const area of areas) {
      const kinds = new Set(area.routes.map((r) => r.access));
      expect(area.access).toBe(kinds.has('RW') ? 'RW' : kinds.has('RO') ? 'RO' : 'NONE');
    }
    expect(areas.find((a) => a.name === 'system')?.access).toBe('NONE');
  });
});

describe('functions', () => {
  const functions = resourcesOf(template, 'AWS::Lambda::Function');

  it('has exactly one function per area, serving the routes of that area, and the authorizer', () => {
    expect(Object.keys(functions)).toHaveLength(areas.length + 1);
    expect(Object.keys(api.areaFunctions).sort()).toEqual(areas.map((a) => a.name).sort());
    for (const route of routeList) expect(api.functions[route.id]).toBe(api.areaFunctions[areaOf(route)]);
  });

  it.each(areas.map((a) => a.name))('%s: nodejs24.x on arm64, area handler, house environment', (name) => {
    const area = areas.find((a) => a.name === name)!;
    const fn = functions[logicalId(fnOfArea(area.name).function)]!;
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 10,
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'cardflow',
        },
      },
    });
    expect(fn.Properties!.Environment.Variables.TABLE_NAME === undefined).toBe(area.access === 'NONE');
  });

  it('writes each function to its own log group with a retention', () => {
    const logGroups = resourcesOf(template, 'AWS::Logs::LogGroup');
    const used = new Set<string>();
    for (const fn of Object.values(functions)) {
      const ref = fn.Properties!.LoggingConfig?.LogGroup?.Ref as string;
      expect(logGroups[ref], 'function without its own log group').toBeDefined();
      expect(logGroups[ref]!.Properties!.RetentionInDays).toBe(30);
      used.add(ref);
    }
    expect(used.size).toBe(areas.length + 1);
  });

  it('uses no AWS managed policy on any role', () => {
    for (const role of Object.values(resourcesOf(template, 'AWS::IAM::Role'))) {
      expect(role.Properties!.ManagedPolicyArns ?? []).toEqual([]);
    }
  });

  it('lets each function write only to its own log group', () => {
    for (const area of areas) {
      const fn = fnOfArea(area.name);
      const logStatements = statementsForRole(template, logicalId(fn.role)).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      expect(logStatements).toEqual([
        expect.objectContaining({ Effect: 'Allow', Resource: { 'Fn::GetAtt': [api.getLogicalId(fn.logGroup.node.defaultChild as never), 'Arn'] } }),
      ]);
    }
  });

  it('lets API Gateway invoke each function through one permission scoped to this API', () => {
    const permissions = Object.values(resourcesOf(template, 'AWS::Lambda::Permission'));
    const [apiId] = onlyResource(template, 'AWS::ApiGatewayV2::Api');
    for (const area of areas) {
      const own = permissions.filter(
        (p) => JSON.stringify(p.Properties!.FunctionName) === JSON.stringify({ 'Fn::GetAtt': [logicalId(fnOfArea(area.name).function), 'Arn'] }),
      );
      expect(own).toHaveLength(1);
      expect(own[0]!.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
      expect(JSON.stringify(own[0]!.Properties!.SourceArn)).toContain(JSON.stringify({ Ref: apiId }));
    }
  });
});

describe('routes', () => {
  const routesByKey = Object.fromEntries(
    Object.entries(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).map(([, r]) => [r.Properties!.RouteKey as string, r]),
  );
  const [authorizerId] = onlyResource(template, 'AWS::ApiGatewayV2::Authorizer');

  it('has one API route per manifest entry', () => {
    expect(Object.keys(routesByKey).sort()).toEqual(routeList.map((r) => `${r.method} ${r.path}`).sort());
  });

  it.each(routeList)('$method $path: the Lambda authorizer unless public, integrated with its area function', (route) => {
    const key = `${route.method} ${route.path}`;
    const apiRoute = routesByKey[key]!.Properties!;
    if (PUBLIC_ROUTE_KEYS.includes(key)) {
      expect(route.role).toBeNull();
      expect(apiRoute.AuthorizationType).toBe('NONE');
    } else {
      expect(apiRoute).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    }
    const integrationId = apiRoute.Target['Fn::Join'][1][1].Ref as string;
    const integration = resourcesOf(template, 'AWS::ApiGatewayV2::Integration')[integrationId]!;
    expect(integration.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalId(fnOfArea(areaOf(route)).function), 'Arn'] },
    });
  });

  it('only the health, OpenAPI and reference-page routes are public in the manifest', () => {
    expect(
      routeList
        .filter((r) => r.role === null)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual([...PUBLIC_ROUTE_KEYS].sort());
  });

  it('has no CORS configuration', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP', CorsConfiguration: Match.absent() });
  });
});

describe('stage', () => {
  const [, stage] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');

  it('is the auto-deployed $default stage with default throttling', () => {
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: DEFAULT_THROTTLE.rateLimit, ThrottlingBurstLimit: DEFAULT_THROTTLE.burstLimit },
    });
  });

  it('writes JSON access logs to a log group with a retention', () => {
    const { DestinationArn, Format } = stage.Properties!.AccessLogSettings;
    const logGroupId = DestinationArn['Fn::GetAtt'][0] as string;
    expect(resourcesOf(template, 'AWS::Logs::LogGroup')[logGroupId]!.Properties!.RetentionInDays).toBe(30);
    const format = JSON.parse(Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
      latency: '$context.responseLatency',
    });
  });

  it('takes throttling from context', () => {
    const { api: throttled } = buildStacks({ throttleRate: '7', throttleBurst: 11 });
    Template.fromStack(throttled).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 11 },
    });
  });

  it('outputs the API URL', () => {
    template.hasOutput('ApiUrl', {});
  });
});

describe('table access', () => {
  const dynamoStatementsOf = (area: string) =>
    statementsForRole(template, logicalId(fnOfArea(area).role)).filter((s) => actionsOf(s).some((a) => a === '*' || a.toLowerCase().startsWith('dynamodb:')));

  const ro = areas.filter((a) => a.access === 'RO');
  const rw = areas.filter((a) => a.access === 'RW');
  const none = areas.filter((a) => a.access === 'NONE');

  it('has areas of each kind the manifest needs', () => {
    expect(rw.length).toBeGreaterThan(0);
    expect(none.length).toBeGreaterThan(0);
  });

  it.each(ro.map((a) => [a.name]))('%s (RO) can read and query the indexes, and write nothing', (area) => {
    const statements = dynamoStatementsOf(area);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Action: expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']) }));
    for (const s of statements) {
      expect(s.NotAction).toBeUndefined();
      for (const action of actionsOf(s)) {
        expect(
          WRITE_ACTIONS.filter((w) => grants(action, w)),
          `${area} is granted ${action}`,
        ).toEqual([]);
        expect([...TABLE_READ_ACTIONS, ...INDEX_READ_ACTIONS]).toContain(action);
      }
    }
  });

  it.each(rw.map((a) => [a.name]))('%s (RW) can write items, transactionally, but not scan', (area) => {
    const statements = dynamoStatementsOf(area);
    const actions = statements.flatMap(actionsOf);
    for (const needed of [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:ConditionCheckItem',
    ]) {
      expect(actions).toContain(needed);
    }
    expect(actions.filter((a) => grants(a, 'dynamodb:Scan'))).toEqual([]);
  });

  it.each(none.map((a) => [a.name]))('%s (NONE) has no table access at all', (area) => {
    expect(dynamoStatementsOf(area)).toEqual([]);
  });

  it('scopes table actions to the table and index queries to the named indexes', () => {
    for (const area of [...ro, ...rw]) {
      for (const s of dynamoStatementsOf(area.name)) {
        const resources = JSON.stringify(s.Resource);
        expect(resources).not.toBe('"*"');
        expect(resources).not.toContain('/index/*');
        if (actionsOf(s).some((a) => a !== 'dynamodb:Query')) {
          expect(resources).not.toContain('/index/');
        } else {
          for (const gsi of TABLE_DEFINITION.globalSecondaryIndexes) expect(resources).toContain(`/index/${gsi.indexName}`);
        }
      }
    }
  });

  it('no policy in any stack allows dynamodb:* or dynamodb:DeleteTable', () => {
    for (const t of [template, dataTemplate]) {
      for (const s of allStatements(t)) {
        if (s.Effect !== 'Allow') continue;
        expect(s.NotAction, 'Allow + NotAction is a wildcard in disguise').toBeUndefined();
        for (const action of actionsOf(s)) {
          expect(grants(action, 'dynamodb:DeleteTable'), `allows ${action}`).toBe(false);
          expect(action === '*' || action.toLowerCase() === 'dynamodb:*').toBe(false);
        }
      }
    }
  });

  it("passes the data stack's table name (imported), never a literal", () => {
    const [tableId] = onlyResource(dataTemplate, 'AWS::DynamoDB::GlobalTable');
    const outputs = dataTemplate.toJSON().Outputs as Record<string, { Value: unknown; Export?: { Name: string } }>;
    const exported = Object.values(outputs).find((o) => JSON.stringify(o.Value) === JSON.stringify({ Ref: tableId }) && o.Export);
    expect(exported, 'the data stack exports the table name').toBeDefined();
    for (const area of [...ro, ...rw]) {
      const fn = resourcesOf(template, 'AWS::Lambda::Function')[logicalId(fnOfArea(area.name).function)]!;
      expect(fn.Properties!.Environment.Variables.TABLE_NAME).toEqual({ 'Fn::ImportValue': exported!.Export!.Name });
    }
  });
});

describe('authorizer with the built-in user pool', () => {
  const [poolId, pool] = onlyResource(template, 'AWS::Cognito::UserPool');
  const [clientId, client] = onlyResource(template, 'AWS::Cognito::UserPoolClient');

  const authorizerFn = resourcesOf(template, 'AWS::Lambda::Function')[logicalId(api.authorizer.function.function)]!;

  it('is a Lambda request authorizer keyed on the Authorization header, with a short cache (revocation bound)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      AuthorizerResultTtlInSeconds: AUTHORIZER_CACHE_SECONDS,
    });
    expect(AUTHORIZER_CACHE_SECONDS).toBeLessThanOrEqual(30);
  });

  it('trusts ID tokens of its own user pool and client', () => {
    expect(authorizerFn.Properties!.Environment.Variables).toMatchObject({
      JWT_AUDIENCE: { Ref: clientId },
      JWT_ISSUER: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [poolId, 'ProviderURL'] }]] },
      TABLE_NAME: expect.anything(),
    });
  });

  it('may read API token lookup items and note lastUsedAt on API tokens, nothing else', () => {
    const statements = statementsForRole(template, logicalId(api.authorizer.function.role)).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(statements).toEqual([
      expect.objectContaining({ Action: 'dynamodb:GetItem', Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APITOKEN#*'] } } }),
      expect.objectContaining({ Action: 'dynamodb:UpdateItem', Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ORG#*#APITOKENS'] } } }),
    ]);
  });

  it('admin-created users with an immutable org_id, a role, strong passwords, MFA and threat protection', () => {
    expect(pool.Properties).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
      Policies: { PasswordPolicy: { RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
    });
    expect(pool.Properties!.Policies.PasswordPolicy.MinimumLength).toBeGreaterThanOrEqual(12);
    expect(pool.Properties!.Schema).toContainEqual(expect.objectContaining({ Name: 'org_id', Mutable: false }));
    expect(pool.Properties!.Schema).toContainEqual(expect.objectContaining({ Name: 'role' }));
    expect(pool.DeletionPolicy).toBe('Retain');
  });

  it('users cannot change their own organization or role through the client', () => {
    expect(client.Properties!.WriteAttributes).toBeDefined();
    expect(client.Properties!.WriteAttributes).not.toContain('custom:role');
    expect(client.Properties!.WriteAttributes).not.toContain('custom:org_id');
    expect(client.Properties!.ReadAttributes).toEqual(expect.arrayContaining(['custom:org_id', 'custom:role']));
    expect(client.Properties!.GenerateSecret).toBe(false);
  });

  it('outputs the pool and client ids', () => {
    template.hasOutput('UserPoolId', {});
    template.hasOutput('UserPoolClientId', {});
  });
});

describe('authorizer with an external issuer', () => {
  const issuer = 'https://auth.example.com/';
  const { api: external } = buildStacks({ jwtIssuer: issuer, jwtAudience: 'cardflow-api, cardflow-cli' });
  const externalTemplate = Template.fromStack(external);

  it('trusts the issuer and every audience given, and creates no user pool', () => {
    externalTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ JWT_ISSUER: issuer, JWT_AUDIENCE: 'cardflow-api,cardflow-cli' }) },
    });
    externalTemplate.resourceCountIs('AWS::Cognito::UserPool', 0);
    externalTemplate.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
  });

  it('rejects an issuer without an audience', () => {
    expect(() => buildStacks({ jwtIssuer: issuer })).toThrow(/jwtAudience/);
  });
});
