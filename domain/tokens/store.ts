/**
 * API tokens in the single table: each token in its organization's token partition (with the
 * count that bounds them, updated in the same transaction), and one lookup item keyed by the
 * SHA-256 of the secret, which is all the authorizer reads. Create and revoke write both items in
 * one transaction, so a token is never listed without working or working without being listed.
 */
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Role } from '../kernel/auth';
import type { ApiTokenLookup, ApiTokenStore, StoredApiToken } from './tokens';
import { isConditionFailure, returnCountSlot, takeCountSlot, TransactionCancelled, transactWrite, type Item } from '../kernel/dynamo';
import { API_TOKEN_SK_PREFIX, ENTITY, keys } from '../kernel/keys';

/** The lookup item of an expiring token is removed by TTL a day after it expires (auth checks expiry itself). */
const LOOKUP_GRACE_SECONDS = 24 * 3600;

function toToken(item: Item): StoredApiToken {
  return {
    id: item['id'] as string,
    name: item['name'] as string,
    role: item['role'] as Role,
    hint: item['hint'] as string,
    ...(item['expiry'] ? { expiresAt: item['expiry'] as string } : {}),
    ...(item['lastUsedAt'] ? { lastUsedAt: item['lastUsedAt'] as string } : {}),
    createdBy: item['createdBy'] as string,
    createdAt: item['createdAt'] as string,
    secretHash: item['secretHash'] as string,
  };
}

export class DynamoApiTokenStore implements ApiTokenStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  async create(orgId: string, token: StoredApiToken, max: number): Promise<'ok' | 'limit'> {
    // `expiresAt` is the table's TTL attribute (epoch seconds); the token's own expiry is `expiry`.
    const { expiresAt, ...rest } = token;
    const ttl = expiresAt ? { expiresAt: Math.ceil(Date.parse(expiresAt) / 1000) + LOOKUP_GRACE_SECONDS } : {};
    try {
      await transactWrite(this.doc, [
        {
          Put: {
            TableName: this.table,
            Item: { ...keys.apiToken(orgId, token.id), entity: ENTITY.apiToken, orgId, ...rest, ...(expiresAt ? { expiry: expiresAt } : {}) },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        takeCountSlot(this.table, keys.apiTokenCount(orgId), ENTITY.apiTokenCount, orgId, max),
        {
          Put: {
            TableName: this.table,
            Item: {
              ...keys.apiTokenLookup(token.secretHash),
              entity: ENTITY.apiTokenLookup,
              orgId,
              tokenId: token.id,
              role: token.role,
              ...(expiresAt ? { expiry: expiresAt } : {}),
              ...ttl,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
      ]);
      return 'ok';
    } catch (error) {
      if (error instanceof TransactionCancelled && error.failed(1)) return 'limit';
      throw error;
    }
  }

  async list(orgId: string): Promise<StoredApiToken[]> {
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.apiTokenCount(orgId).PK, ':prefix': API_TOKEN_SK_PREFIX },
        ConsistentRead: true,
      }),
    );
    // At most 100 small items: far below one Query page (1 MB).
    return (result.Items ?? []).map(toToken);
  }

  async delete(orgId: string, tokenId: string): Promise<boolean> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.apiToken(orgId, tokenId), ConsistentRead: true }));
    if (!item) return false;
    try {
      await transactWrite(this.doc, [
        { Delete: { TableName: this.table, Key: keys.apiToken(orgId, tokenId), ConditionExpression: 'attribute_exists(PK)' } },
        // Unconditional: TTL may already have removed the lookup item of an expired token.
        { Delete: { TableName: this.table, Key: keys.apiTokenLookup(item['secretHash'] as string) } },
        returnCountSlot(this.table, keys.apiTokenCount(orgId)),
      ]);
      return true;
    } catch (error) {
      // Revoked meanwhile by another request: it is gone either way.
      if (error instanceof TransactionCancelled && error.failed(0)) return false;
      throw error;
    }
  }

  async lookup(secretHash: string): Promise<ApiTokenLookup | null> {
    const { Item: item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: keys.apiTokenLookup(secretHash),
        ConsistentRead: true,
        ProjectionExpression: 'orgId, tokenId, #role, expiry',
        ExpressionAttributeNames: { '#role': 'role' },
      }),
    );
    if (!item) return null;
    return {
      orgId: item['orgId'] as string,
      tokenId: item['tokenId'] as string,
      role: item['role'] as Role,
      ...(item['expiry'] ? { expiresAt: item['expiry'] as string } : {}),
    };
  }

  async touch(orgId: string, tokenId: string, at: string, unlessAfter: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.apiToken(orgId, tokenId),
          UpdateExpression: 'SET lastUsedAt = :at',
          ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :after)',
          ExpressionAttributeValues: { ':at': at, ':after': unlessAfter },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
