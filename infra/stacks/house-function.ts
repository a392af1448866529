/**
 * The house Lambda defaults in one construct: Node.js 24 on arm64, ESM bundle built locally by
 * esbuild (minified, with source maps), active X-Ray tracing, its own log group with retention,
 * its own role with no managed policy (only write access to that log group, and the two X-Ray
 * write actions), and `bindTable` for least-privilege table access.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { TABLE_DEFINITION } from '../../domain/kernel/table';
import { LAMBDA_BUNDLE, LAMBDA_NODE_OPTIONS, stableSourceMapCommands, tracerChunkCommands } from '../bundling/options';

/** Repository root: every entry path and the lock file are resolved from here, whatever the cwd. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const SERVICE_NAME = 'cardflow';

/** What active tracing needs; X-Ray has no resource-level permissions for them. */
export const XRAY_WRITE_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] as const;

export interface HouseFunctionProps {
  /** Entry file, relative to the repository root (functions/api/cards.ts). */
  entry: string;
  /** Named export of the entry file. */
  handler: string;
  description?: string;
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  logRetention?: RetentionDays;
  /** Removal policy of the function's log group. */
  logRemovalPolicy?: RemovalPolicy;
  /** Files (relative to the repository root) copied into the bundle, e.g. the docs page's assets. */
  bundleFiles?: ReadonlyArray<{ from: string; to: string }>;
}

export class HouseFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: LogGroup;
  /** The entry file, relative to the repository root. */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);
    this.entry = props.entry;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // An explicit role instead of the default one with AWSLambdaBasicExecutionRole: that managed
    // policy lets the function write to any log group in the account; this one only to its own.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${SERVICE_NAME} ${props.handler}`,
      // X-Ray's write actions have no resource-level permissions: "*" is the only resource they
      // take. Kept apart from the default policy (which holds every other grant, all scoped), so
      // the one acknowledged wildcard is on exactly these two actions.
      inlinePolicies: {
        XRayWrite: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: [...XRAY_WRITE_ACTIONS], resources: ['*'] })],
        }),
      },
    });
    NagSuppressions.addResourceSuppressions(this.role, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (Resource must be "*"); the inline policy XRayWrite holds only these two actions.',
        appliesTo: ['Resource::*'],
      },
    ]);
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, props.entry),
      handler: props.handler,
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description !== undefined ? { description: props.description } : {}),
      environment: {
        NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        ...props.environment,
      },
      // infra/bundling/options.ts (shared with `npm run bench`, which measures what ships), in CDK's terms.
      bundling: {
        // esbuild is a devDependency: bundling runs locally, never in Docker.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: LAMBDA_BUNDLE.target,
        mainFields: [...LAMBDA_BUNDLE.mainFields],
        minify: LAMBDA_BUNDLE.minify,
        sourceMap: LAMBDA_BUNDLE.sourceMap,
        sourcesContent: LAMBDA_BUNDLE.sourcesContent,
        externalModules: [...LAMBDA_BUNDLE.external],
        esbuildArgs: Object.fromEntries(Object.entries(LAMBDA_BUNDLE.alias).map(([from, to]) => [`--alias:${from}`, to])),
        banner: LAMBDA_BUNDLE.banner,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            // The Tracer beside the bundle, loaded on the first sampled invocation (functions/shared/tracer.ts).
            ...tracerChunkCommands(inputDir, outputDir),
            // Source map paths made independent of the output directory: stable asset hashes.
            ...stableSourceMapCommands(inputDir, outputDir),
            ...(props.bundleFiles ?? []).flatMap(({ from, to }) => [
              `mkdir -p "${path.dirname(path.join(outputDir, to))}"`,
              `cp "${path.join(inputDir, from)}" "${path.join(outputDir, to)}"`,
            ]),
          ],
        },
      },
    });
    // X-Ray: Lambda starts the trace (HTTP APIs cannot trace at the stage); Powertools Tracer
    // (functions/shared/tracer.ts) adds the SDK calls as subsegments. Set on the L1: `tracing:
    // ACTIVE` would add the "*" X-Ray grant to the default policy, next to the scoped grants.
    (this.function.node.defaultChild as CfnFunction).tracingConfig = { mode: 'Active' };
  }
}

export type TableAccess = 'RO' | 'RW' | 'NONE';

/**
 * Item-level actions only. Transactions have no IAM actions of their own: TransactGetItems is
 * authorized as GetItem and TransactWriteItems as Put/Update/Delete/ConditionCheckItem on each
 * item. No Scan (no request path scans), no DescribeTable, and never table management.
 */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'] as const;
export const TABLE_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'] as const;
/** An index can only be queried. */
export const INDEX_READ_ACTIONS = ['dynamodb:Query'] as const;

/**
 * Least-privilege table access for one function: RO reads items and queries the indexes, RW
 * also writes items, NONE grants nothing. Index ARNs are named one by one (from
 * TABLE_DEFINITION unless given), so no `index/*` wildcard is needed.
 */
export function bindTable(
  grantee: iam.IGrantable,
  table: ITable,
  access: TableAccess,
  indexNames: readonly string[] = TABLE_DEFINITION.globalSecondaryIndexes.map((gsi) => gsi.indexName),
): iam.Grant[] {
  if (access === 'NONE') return [];
  const tableActions = access === 'RW' ? [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS] : [...TABLE_READ_ACTIONS];
  const grants = [iam.Grant.addToPrincipal({ grantee, actions: tableActions, resourceArns: [table.tableArn] })];
  if (indexNames.length > 0) {
    grants.push(
      iam.Grant.addToPrincipal({
        grantee,
        actions: [...INDEX_READ_ACTIONS],
        resourceArns: indexNames.map((name) => `${table.tableArn}/index/${name}`),
      }),
    );
  }
  return grants;
}
