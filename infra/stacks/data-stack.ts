/**
 * The stateful stack: the cardflow table and nothing that changes with code. It is derived only
 * from TABLE_DEFINITION (domain/store/table.ts), the same object the local runtime and the tests
 * create their table from; test/infra/data-stack.test.ts guards the template against drift.
 */
import { CfnOutput, CrossStackReferences, ReferenceStrength, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  ProjectionType,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
  type Attribute,
  type ITableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TABLE_DEFINITION } from '../../domain/store/table';

export interface DataStackProps extends StackProps {
  /** RETAIN (default) keeps the table when the stack goes; DESTROY is for throwaway dev stacks. */
  removalPolicy?: RemovalPolicy;
}

/** Every key attribute of the single table is a string (see createTableInput). */
const stringKey = (name: string): Attribute => ({ name, type: AttributeType.STRING });

export class DataStack extends Stack {
  readonly table: ITableV2;

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

    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'cardflow single table' });
    if (table.tableStreamArn) {
      new CfnOutput(this, 'TableStreamArn', { value: table.tableStreamArn, description: 'NEW_AND_OLD_IMAGES stream' });
    }
  }
}
