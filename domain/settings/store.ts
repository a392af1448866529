/** The organization's settings item (`ORG#o#SETTINGS`, `#META`); absent until an admin changes one. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { OrgSettings } from './model';
import { ENTITY, keys } from '../kernel/keys';

export class SettingsStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(orgId: string): Promise<OrgSettings | null> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.orgSettings(orgId), ConsistentRead: true }));
    return item
      ? { activityRetentionDays: item['activityRetentionDays'] as number, version: item['version'] as number, updatedAt: item['updatedAt'] as string }
      : null;
  }

  /** Sets the given settings and bumps the version; with `expectedVersion`, only if it is current (null otherwise). */
  async update(orgId: string, change: { activityRetentionDays?: number }, now: string, expectedVersion?: number): Promise<OrgSettings | null> {
    const names: Record<string, string> = { '#version': 'version', '#updatedAt': 'updatedAt', '#entity': 'entity', '#orgId': 'orgId', '#id': 'id' };
    const values: Record<string, unknown> = { ':zero': 0, ':one': 1, ':now': now, ':entity': ENTITY.orgSettings, ':orgId': orgId };
    const set = ['#version = if_not_exists(#version, :zero) + :one', '#updatedAt = :now', '#entity = :entity', '#orgId = :orgId', '#id = :orgId'];
    if (change.activityRetentionDays !== undefined) {
      names['#retention'] = 'activityRetentionDays';
      values[':retention'] = change.activityRetentionDays;
      set.push('#retention = :retention');
    }
    if (expectedVersion !== undefined) values[':expected'] = expectedVersion;
    try {
      const { Attributes: item } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.orgSettings(orgId),
          UpdateExpression: `SET ${set.join(', ')}`,
          // Version 0 is "never written": the item is absent.
          ...(expectedVersion !== undefined ? { ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#version)' : '#version = :expected' } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: expectedVersion === 0 ? Object.fromEntries(Object.entries(values).filter(([k]) => k !== ':expected')) : values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { activityRetentionDays: item!['activityRetentionDays'] as number, version: item!['version'] as number, updatedAt: item!['updatedAt'] as string };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }
}
