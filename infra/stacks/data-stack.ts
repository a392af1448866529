/**
 * The stateful stack: the cardflow table, the KMS key its webhook secrets are sealed with, and
 * nothing that changes with code. It is derived only
 * from TABLE_DEFINITION (domain/kernel/table.ts), the same object the local runtime and the tests
 * create their table from; test/infra/data-stack.test.ts guards the template against drift.
 */
import { CfnOutput, CrossStackReferences, Duration, ReferenceStrength, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, StreamViewType, TableEncryptionV2, TableV2, type Attribute, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { TABLE_DEFINITION } from '../../domain/kernel/table';

export interface DataStackProps extends StackProps {
  /** RETAIN (default) keeps the table when the stack goes; DESTROY is for throwaway dev stacks. */
  removalPolicy?: RemovalPolicy;
  /** Used in the secrets key's description. */
  stage?: string;
}

/** Every key attribute of the single table is a string (see createTableInput). */
const stringKey = (name: string): Attribute => ({ name, type: AttributeType.STRING });

export class DataStack extends Stack {
  readonly table: ITableV2;
  /** Wraps the data keys of webhook signing secrets (infra/stacks/secrets-key.ts grants its use). */
  readonly secretsKey: IKey;
  /** The key list cursors are signed with (functions/shared/cursor-key.ts reads it by ARN). */
  readonly cursorKeySecret: ISecret;

  constructor(scope: Construct, id: string, props: DataStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const def = TABLE_DEFINITION;

    const table = new TableV2(this, 'Table', {
      partitionKey: stringKey(def.partitionKey),
      sortKey: stringKey(def.sortKey),
      globalSecondaryIndexes: def.globalSecondaryIndexes.map((gsi) => ({
        indexName: gsi.indexName,
        partitionKey: stringKey(gsi.partitionKey),
        sortKey: stringKey(gsi.sortKey),
        projectionType: ProjectionType.ALL,
      })),
      timeToLiveAttribute: def.timeToLiveAttribute,
      dynamoStream: StreamViewType[def.streamViewType],
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // A dev stack deployed with removalPolicy=destroy must be deletable; everything else is protected twice.
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      // Encryption at rest with the AWS managed key (aws/dynamodb), not a customer managed key:
      // key use is still visible in CloudTrail (unlike the default AWS owned key), but there is no
      // key policy to maintain, no per-key cost, no kms:Decrypt grant to add to every function and
      // stream consumer, and no way to make the table unreadable by disabling or scheduling the
      // deletion of a key. Switch to TableEncryptionV2.customerManagedKey() when a requirement
      // (separation of duties over the key, cross-account access, crypto-shredding) asks for it.
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy,
    });
    // Consumers import the table through CloudFormation exports: this stack cannot be deleted,
    // nor the table replaced, while a stack still uses it.
    CrossStackReferences.of(table).produce(ReferenceStrength.STRONG);
    this.table = table;

    // Stateful like the table: the secrets stored in it are unreadable without this key, so it
    // lives and is retained with the data, not with the code that uses it. Customer managed
    // (not aws/…) so that only the grants of secrets-key.ts decide who may unwrap.
    const secretsKey = new Key(this, 'SecretsKey', {
      description: `cardflow${props.stage ? ` ${props.stage}` : ''} webhook signing secrets (envelope encryption, context purpose=cardflow:webhook-secret)`,
      enableKeyRotation: true,
      removalPolicy,
      ...(removalPolicy === RemovalPolicy.DESTROY ? { pendingWindow: Duration.days(7) } : {}),
    });
    CrossStackReferences.of(secretsKey).produce(ReferenceStrength.STRONG);
    this.secretsKey = secretsKey;

    // Without it every list answer in AWS is a 500 (cursor-key.ts: no key configured). 64
    // alphanumerics read as base64: 48 random bytes. Kept with the data: a new key only
    // invalidates outstanding cursors (clients start the listing over), so no rotation.
    const cursorKeySecret = new Secret(this, 'CursorSigningKey', {
      description: `cardflow${props.stage ? ` ${props.stage}` : ''} pagination cursor signing key (base64)`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(cursorKeySecret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'The pagination cursor signing key: rotating it only invalidates outstanding cursors; no credential to any system, so no rotation Lambda. Replace the value by hand if it leaks.',
      },
    ]);
    CrossStackReferences.of(cursorKeySecret).produce(ReferenceStrength.STRONG);
    this.cursorKeySecret = cursorKeySecret;

    new CfnOutput(this, 'SecretsKeyArn', { value: secretsKey.keyArn, description: 'webhook secrets key' });
    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'cardflow single table' });
    if (table.tableStreamArn) {
      new CfnOutput(this, 'TableStreamArn', { value: table.tableStreamArn, description: 'NEW_AND_OLD_IMAGES stream' });
    }
  }
}
