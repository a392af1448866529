/**
 * The CDK table against the one table definition. Expectations are derived from TABLE_DEFINITION
 * and createTableInput (what the local runtime and the tests create), never copied by hand: if
 * the definition changes and the stack does not follow, these fail.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createTableInput, TABLE_DEFINITION } from '../../domain/kernel/table';
import { buildStacks, onlyResource } from './synth';

const TABLE_TYPE = 'AWS::DynamoDB::GlobalTable';
const local = createTableInput('drift-guard');

describe('data stack', () => {
  // Prepare
  const { data } = buildStacks();
  const template = Template.fromStack(data);
  const [, table] = onlyResource(template, TABLE_TYPE);
  const props = table.Properties!;

  it('has the key schema of the definition', () => {
    expect(props.KeySchema).toEqual(local.KeySchema);
    expect(props.KeySchema).toEqual([
      { AttributeName: TABLE_DEFINITION.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_DEFINITION.sortKey, KeyType: 'RANGE' },
    ]);
  });

  it('defines exactly the key attributes of the definition, all strings', () => {
    const byName = (a: { AttributeName: string }, b: { AttributeName: string }) => a.AttributeName.localeCompare(b.AttributeName);
    expect([...props.AttributeDefinitions].sort(byName)).toEqual([...local.AttributeDefinitions].sort(byName));
  });

  it('has every GSI of the definition, with ALL projection, and no other', () => {
    expect(props.GlobalSecondaryIndexes).toHaveLength(TABLE_DEFINITION.globalSecondaryIndexes.length);
    for (const gsi of local.GlobalSecondaryIndexes) {
      expect(props.GlobalSecondaryIndexes).toContainEqual(
        expect.objectContaining({ IndexName: gsi.IndexName, KeySchema: gsi.KeySchema, Projection: { ProjectionType: 'ALL' } }),
      );
    }
  });

  it('has the TTL attribute and stream view of the definition', () => {
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: TABLE_DEFINITION.timeToLiveAttribute, Enabled: true });
    expect(props.StreamSpecification).toEqual({ StreamViewType: TABLE_DEFINITION.streamViewType });
    expect(props.StreamSpecification.StreamViewType).toBe(local.StreamSpecification.StreamViewType);
  });

  it('is on-demand and encrypted with KMS', () => {
    expect(props.BillingMode).toBe(local.BillingMode);
    expect(props.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
  });

  it('has point-in-time recovery and deletion protection', () => {
    expect(props.Replicas).toHaveLength(1);
    expect(props.Replicas[0]).toMatchObject({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('is retained when removed from the stack or replaced', () => {
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(data.terminationProtection).toBe(true);
  });

  it('has no hard-coded table name and outputs the generated one', () => {
    expect(props.TableName).toBeUndefined();
    template.hasOutput('TableName', {});
  });
});

describe('data stack with removalPolicy=destroy', () => {
  it('can be destroyed: no retain, no deletion protection', () => {
    const { data } = buildStacks({ removalPolicy: 'destroy' });
    const [, table] = onlyResource(Template.fromStack(data), TABLE_TYPE);
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.Properties!.Replicas[0].DeletionProtectionEnabled).toBe(false);
    expect(table.Properties!.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('is refused for prod', () => {
    expect(() => buildStacks({ stage: 'prod', removalPolicy: 'destroy' })).toThrow(/refused/);
  });
});
