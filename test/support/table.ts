/** Direct table reads for assertions: what an organization holds, item by item. */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../domain/kernel/client';
import { orgPrefix } from '../../domain/kernel/keys';

/**
 * Every item of an organization (a Scan is fine in tests; no request path uses one). Sorted, so
 * two snapshots compare equal when nothing was written.
 */
export async function snapshotOrg(orgId: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new ScanCommand({
        TableName: process.env['TABLE_NAME'],
        FilterExpression: 'begins_with(PK, :prefix)',
        ExpressionAttributeValues: { ':prefix': orgPrefix(orgId) },
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    items.push(...((page.Items ?? []) as Array<Record<string, unknown>>));
    startKey = page.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (startKey);
  return items.sort((a, b) => `${a['PK']}|${a['SK']}`.localeCompare(`${b['PK']}|${b['SK']}`));
}

/** The cards of a pipe as stored, with how many times each was written since it was created (version 1). */
export async function cardsOfPipe(orgId: string, pipeId: string) {
  const items = await snapshotOrg(orgId);
  return items
    .filter((i) => i['entity'] === 'Card' && i['pipeId'] === pipeId)
    .map((c) => ({ pk: c['PK'] as string, values: c['values'] as Record<string, unknown>, title: c['title'], writes: (c['version'] as number) - 1 }));
}
