/**
 * The HTTP API: one route per entry of the route manifest (functions/api/routes.ts), behind the
 * Lambda authorizer (user JWTs and API tokens, infra/stacks/authorizer.ts) unless the entry is
 * public, each integrated with the Lambda function of its API area (functions/api/areas.ts: why
 * areas), which dispatches on the routeKey. Each area's function is granted the strongest table
 * access among its routes, and nothing else.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { CfnOutput, CrossStackReferences, Duration, ReferenceStrength, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  ApiMapping,
  CorsHttpMethod,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
  type CfnRoute,
  type IHttpRouteAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { apiAreas } from '../../functions/api/areas';
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS } from '../../functions/api/cors';
import { DOCS_BUNDLE_FILES } from '../../functions/api/docs-assets';
import { routeList, type RouteId } from '../../functions/api/routes';
import { ApiAuthorizer } from './authorizer';
import { bindTable, HouseFunction, REPO_ROOT, SERVICE_NAME } from './house-function';
import { grantWebhookSecrets } from './secrets-key';
/** The variable functions/shared/cursor-key.ts reads (its CURSOR_KEY_SECRET_ENV). */
const CURSOR_KEY_SECRET_ENV = 'CURSOR_SIGNING_KEY_SECRET_ARN';
import { DEFAULT_THROTTLE, type JwtSettings } from './settings';

/** API areas that seal webhook secrets (functions/shared/secrets.ts): GenerateDataKey, no Decrypt. */
export const SEALING_AREAS: ReadonlySet<string> = new Set(['webhooks']);

export interface ApiStackProps extends StackProps {
  table: ITable;
  /** The pagination cursor signing key (data stack): every area with table access reads it. */
  cursorKeySecret?: ISecret;
  /** The webhook secrets key (data stack); SEALING_AREAS may seal with it. */
  secretsKey?: IKey;
  /** Used in resource names and descriptions. */
  stage: string;
  /** External token issuer; when absent a Cognito user pool is created and trusted. */
  jwt?: JwtSettings;
  throttle?: { rateLimit: number; burstLimit: number };
  logRetention?: RetentionDays;
  /** For the user pool and log groups; RETAIN unless a dev stack asks otherwise. */
  removalPolicy?: RemovalPolicy;
  /** Browser origins for the CORS preflight (the stage file's corsOrigins); none = no CORS. */
  corsOrigins?: readonly string[];
  /** A custom domain (the stage file's domain): DNS points at the output ApiDomainTarget. */
  domain?: { name: string; certificateArn: string };
}

/** One JSON object per request (API Gateway HTTP API $context variables). */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  userAgent: '$context.identity.userAgent',
});

const pascal = (id: string) => id.charAt(0).toUpperCase() + id.slice(1);

export class ApiStack extends Stack {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** The function of each API area (functions/api/areas.ts), by area name. */
  readonly areaFunctions: Record<string, HouseFunction> = {};
  /** The function serving each route: its area's. */
  readonly functions: Partial<Record<RouteId, HouseFunction>> = {};
  readonly authorizer: ApiAuthorizer;
  readonly userPool?: cognito.UserPool;
  readonly userPoolClient?: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    // The table comes from the data stack through an export/import pair (strong): the data stack
    // cannot be deleted from under this one. Said explicitly; must precede any child construct.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const throttle = props.throttle ?? DEFAULT_THROTTLE;

    // --- Who may call: an external issuer, or a user pool of our own -------------------------
    let issuer: string;
    let audience: string[];
    if (props.jwt) {
      ({ issuer, audience } = props.jwt);
    } else {
      const pool = new cognito.UserPool(this, 'UserPool', {
        // Users are created by an administrator, who sets the organization and role.
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        autoVerify: { email: true },
        standardAttributes: { email: { required: true, mutable: true } },
        customAttributes: {
          // Part of every key: set once when the user is created, never changed.
          org_id: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: false }),
          role: new cognito.StringAttribute({ minLen: 1, maxLen: 16, mutable: true }),
        },
        passwordPolicy: {
          minLength: 12,
          requireLowercase: true,
          requireUppercase: true,
          requireDigits: true,
          requireSymbols: true,
          tempPasswordValidity: Duration.days(3),
        },
        mfa: cognito.Mfa.REQUIRED,
        mfaSecondFactor: { otp: true, sms: false },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        // Plus tier: threat protection (compromised credentials, adaptive authentication) enforced.
        featurePlan: cognito.FeaturePlan.PLUS,
        standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
        deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
        removalPolicy,
      });
      const client = pool.addClient('WebClient', {
        authFlows: { userSrp: true },
        generateSecret: false,
        disableOAuth: true,
        preventUserExistenceErrors: true,
        enableTokenRevocation: true,
        idTokenValidity: Duration.hours(1),
        accessTokenValidity: Duration.hours(1),
        refreshTokenValidity: Duration.days(30),
        readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }).withCustomAttributes('org_id', 'role'),
        // Without this list a user could UpdateUserAttributes on custom:role and make themselves
        // admin. Only administrators (AdminUpdateUserAttributes, IAM) change roles.
        writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
      });
      this.userPool = pool;
      this.userPoolClient = client;
      // The custom:org_id and custom:role claims are in the ID token, whose aud is the client id.
      // ProviderURL is cognito-idp.<region>.amazonaws.com/<pool id>: the pool's own `iss`, minus the scheme.
      issuer = `https://${pool.userPoolProviderUrl}`;
      audience = [client.userPoolClientId];
      new CfnOutput(this, 'UserPoolId', { value: pool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId });
    }
    this.authorizer = new ApiAuthorizer(this, 'Auth', { table: props.table, issuer, audience, logRetention, logRemovalPolicy: removalPolicy });
    const { authorizer } = this.authorizer;

    // --- The API: protected by default, public routes opt out explicitly ---------------------
    this.api = new HttpApi(this, 'HttpApi', {
      apiName: `${SERVICE_NAME}-${props.stage}`,
      description: `${SERVICE_NAME} HTTP API (${props.stage})`,
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
      // API Gateway answers the preflight itself (before the authorizer), as the local gateway
      // does with --cors-origins; the lists are functions/api/cors.ts's, shared with it.
      ...(props.corsOrigins && props.corsOrigins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: [...new Set(routeList.map((r) => r.method))].sort().map((m) => CorsHttpMethod[m as keyof typeof CorsHttpMethod]),
              allowHeaders: [...CORS_ALLOW_HEADERS],
              exposeHeaders: [...CORS_EXPOSE_HEADERS],
              maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
              allowCredentials: false,
            },
          }
        : {}),
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });

    const publicAuthorizer: IHttpRouteAuthorizer = new HttpNoneAuthorizer();
    for (const area of apiAreas()) {
      const name = `${pascal(area.name)}Area`;
      const entry = `functions/api/areas/${area.name}.ts`;
      if (!existsSync(path.join(REPO_ROOT, entry))) {
        throw new Error(
          `Routes ${area.routes.map((r) => r.id).join(', ')} belong to the API area "${area.name}" (module ${area.modules.join(', ')}), ` +
            `which has no entry ${entry}: add one like functions/api/areas/pipes.ts, or map the module to an area in functions/api/areas.ts`,
        );
      }
      const fn = new HouseFunction(this, name, {
        entry,
        handler: 'handler',
        description: `${SERVICE_NAME} ${props.stage} API: ${area.name} (${area.routes.length} routes, ${area.access})`,
        // Routes without table access (health, OpenAPI) need no table name: no reference to the data stack.
        environment: {
          ...(area.access === 'NONE' ? {} : { TABLE_NAME: props.table.tableName }),
          // The stage throttle, which the 429s' RateLimit headers publish (functions/api/rate-limit.ts).
          API_THROTTLE_RATE: String(throttle.rateLimit),
          API_THROTTLE_BURST: String(throttle.burstLimit),
        },
        logRetention,
        logRemovalPolicy: removalPolicy,
        // The reference page (GET /v1/docs) serves swagger-ui from the function itself.
        ...(area.name === 'system' ? { bundleFiles: DOCS_BUNDLE_FILES } : {}),
      });
      bindTable(fn.function, props.table, area.access);
      if (props.cursorKeySecret && area.access !== 'NONE') {
        fn.function.addEnvironment(CURSOR_KEY_SECRET_ENV, props.cursorKeySecret.secretArn);
        props.cursorKeySecret.grantRead(fn.function);
      }
      if (props.secretsKey && SEALING_AREAS.has(area.name)) grantWebhookSecrets(fn, props.secretsKey, 'seal');
      this.areaFunctions[area.name] = fn;

      // One integration per function; one resource-based permission for the whole API instead
      // of one per route (scopePermissionToRoute: false). The function only answers the
      // routeKeys of its own area, so a wider source ARN opens nothing new.
      const integration = new HttpLambdaIntegration(`${name}Integration`, fn.function, { scopePermissionToRoute: false });
      for (const route of area.routes) {
        this.functions[route.id] = fn;
        const [httpRoute] = this.api.addRoutes({
          path: route.path,
          methods: [HttpMethod[route.method]],
          integration,
          ...(route.role === null ? { authorizer: publicAuthorizer } : {}),
        });
        if (route.role === null && httpRoute) {
          NagSuppressions.addResourceSuppressions(httpRoute.node.defaultChild as CfnRoute, [
            {
              id: 'AwsSolutions-APIG4',
              reason: `${route.method} ${route.path} is public by design (role null in the route manifest): it returns no tenant data and must be reachable without a token.`,
            },
          ]);
        }
      }
    }

    if (props.domain) {
      const domainName = new DomainName(this, 'Domain', {
        domainName: props.domain.name,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
      });
      new ApiMapping(this, 'DomainMapping', { api: this.api, domainName, stage: this.stage });
      new CfnOutput(this, 'ApiDomainTarget', { value: domainName.regionalDomainName, description: `CNAME/alias ${props.domain.name} to this` });
      new CfnOutput(this, 'ApiDomainUrl', { value: `https://${props.domain.name}/` });
    }

    new CfnOutput(this, 'ApiUrl', { value: this.stage.url });
    new CfnOutput(this, 'JwtIssuer', { value: issuer });
  }
}
