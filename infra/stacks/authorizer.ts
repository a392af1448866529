/**
 * The API's Lambda request authorizer (functions/auth/authorizer.ts): user JWTs from the trusted
 * issuer and the organization's API tokens, deny by default. Simple responses: the handlers read
 * the caller from requestContext.authorizer.lambda.
 *
 * Caching: API Gateway keeps a decision per Authorization header value for
 * AUTHORIZER_CACHE_SECONDS. That is the bound on "revoked at once" in AWS: a revoked token (or
 * a user whose role changed) may still pass for up to that long on a warm cache entry; the local
 * gateway does not cache. In exchange, a busy client costs one authorizer run (one GetItem) per
 * window instead of one per request.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HouseFunction, SERVICE_NAME } from './house-function';

export const AUTHORIZER_CACHE_SECONDS = 10;

export interface ApiAuthorizerProps {
  table: ITable;
  /** The JWT issuer (`iss`); its keys are read from <issuer>/.well-known/jwks.json unless jwksUrl is given. */
  issuer: string;
  audience: string[];
  jwksUrl?: string;
  logRetention?: RetentionDays;
  logRemovalPolicy?: RemovalPolicy;
}

export class ApiAuthorizer extends Construct {
  readonly authorizer: HttpLambdaAuthorizer;
  readonly function: HouseFunction;

  constructor(scope: Construct, id: string, props: ApiAuthorizerProps) {
    super(scope, id);
    this.function = new HouseFunction(this, 'Authorizer', {
      entry: 'functions/auth/authorizer.ts',
      handler: 'handler',
      description: `${SERVICE_NAME} authorizer: user JWTs and API tokens`,
      environment: {
        TABLE_NAME: props.table.tableName,
        JWT_ISSUER: props.issuer,
        JWT_AUDIENCE: props.audience.join(','),
        ...(props.jwksUrl ? { JWKS_URL: props.jwksUrl } : {}),
      },
      memorySize: 256,
      timeout: Duration.seconds(5),
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      ...(props.logRemovalPolicy !== undefined ? { logRemovalPolicy: props.logRemovalPolicy } : {}),
    });
    // Exactly what it does: read API token lookup items, note lastUsedAt on API token items.
    const leadingKeys = (pattern: string) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [pattern] } });
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [props.table.tableArn], conditions: leadingKeys('APITOKEN#*') }),
    );
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [props.table.tableArn], conditions: leadingKeys('ORG#*#APITOKENS') }),
    );

    this.authorizer = new HttpLambdaAuthorizer('ApiAuthorizer', this.function.function, {
      authorizerName: `${SERVICE_NAME}-authorizer`,
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_SECONDS),
    });
  }
}
