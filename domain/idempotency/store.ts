/**
 * Idempotency records: one item per (organization, route, key), written before the use case runs
 * and completed with its response, expiring after 24 hours through the table's TTL.
 *
 * Why not Powertools idempotency: its DynamoDB persistence layer keys records by
 * `functionName#hash` (or a single configured partition), so the partition key would not start
 * with the organization. Our rule is that every partition key starts with the organization
 * (tenant), so that no request can name a key outside its own tenant and one organization's keys
 * can never collide with another's. This small layer keeps that rule (keys.idempotency takes
 * the org first) and stores the HTTP response, which is what a retry must get back.
 *
 * Lifecycle of a record:
 *   claim     PutItem, only if no live record exists (absent, past its TTL, or an in-progress
 *             record of the same request whose lease ran out because its Lambda died)
 *   complete  status in_progress → completed, with the response (conditional on our lease)
 *   release   deleted again when the use case failed, so a retry can run (conditional on our lease)
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { gunzipSync, gzipSync } from 'node:zlib';
import { IDEMPOTENCY_TTL_SECONDS } from './idempotency';
import { isConditionFailure } from '../kernel/dynamo';
import { ENTITY, keys } from '../kernel/keys';

export interface IdempotencyRef {
  orgId: string;
  /** The route the key was used on: a key is unique per organization and route. */
  scope: string;
  key: string;
}

export interface StoredResponse {
  statusCode: number;
  /** Only etag, location and content-type are kept (see STORED_HEADERS). */
  headers: Record<string, string>;
  body?: string;
}

export type IdempotencyRecord =
  | { status: 'in_progress'; fingerprint: string; owner: string; leaseUntil: number; expiresAt: number }
  | {
      status: 'completed';
      fingerprint: string;
      expiresAt: number;
      response: StoredResponse;
      /** True when the body was too large to keep: only status and headers are stored. */
      bodyOmitted: boolean;
    };

export type ClaimOutcome = { outcome: 'claimed' } | { outcome: 'exists'; record: IdempotencyRecord };

/** Response headers a replay repeats; everything else (cache-control) is set anew. */
export const STORED_HEADERS = ['etag', 'location', 'content-type'] as const;

export interface IdempotencyStoreOptions {
  /**
   * Largest stored body (after compression). DynamoDB refuses items over 400 KB; the rest of the
   * record and a margin take the difference.
   */
  maxStoredBytes?: number;
  /** Bodies above this are gzipped (JSON shrinks five- to tenfold). */
  compressAboveBytes?: number;
  now?: () => number;
}

const CLAIM_ATTEMPTS = 3;

export class IdempotencyStore {
  private readonly maxStoredBytes: number;
  private readonly compressAboveBytes: number;
  private readonly now: () => number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
    options: IdempotencyStoreOptions = {},
  ) {
    this.maxStoredBytes = options.maxStoredBytes ?? 350 * 1024;
    this.compressAboveBytes = options.compressAboveBytes ?? 16 * 1024;
    this.now = options.now ?? Date.now;
  }

  private key(ref: IdempotencyRef) {
    return keys.idempotency(ref.orgId, ref.scope, ref.key);
  }

  /**
   * Takes the key for this request, or returns the record that holds it. `owner` names this
   * attempt (the request id); `leaseMs` is how long an in-progress record blocks others: the
   * Lambda's remaining time, after which the attempt cannot still be running.
   */
  async claim(ref: IdempotencyRef, fingerprint: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    for (let attempt = 1; ; attempt++) {
      const nowMs = this.now();
      const nowSec = Math.floor(nowMs / 1000);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              ...this.key(ref),
              entity: ENTITY.idempotency,
              orgId: ref.orgId,
              scope: ref.scope,
              status: 'in_progress',
              fingerprint,
              owner,
              leaseUntil: nowMs + leaseMs,
              createdAt: new Date(nowMs).toISOString(),
              expiresAt: nowSec + IDEMPOTENCY_TTL_SECONDS,
            },
            // TTL deletion lags (up to days), so an expired record is treated as absent here.
            // A stale lock is taken over only by the same request: a different body stays 422.
            ConditionExpression: 'attribute_not_exists(PK) OR expiresAt < :nowSec OR (#status = :inProgress AND leaseUntil < :nowMs AND fingerprint = :fp)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':nowSec': nowSec, ':nowMs': nowMs, ':inProgress': 'in_progress', ':fp': fingerprint },
          }),
        );
        return { outcome: 'claimed' };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const record = await this.read(ref);
      if (record) return { outcome: 'exists', record };
      // Released (or expired) between our put and our read: try again.
      if (attempt >= CLAIM_ATTEMPTS) throw new Error(`Idempotency record ${ref.scope}/${ref.key} keeps changing`);
    }
  }

  /** The live record of a key (strongly consistent), or null. */
  async read(ref: IdempotencyRef): Promise<IdempotencyRecord | null> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.key(ref), ConsistentRead: true }));
    if (!Item || (Item['expiresAt'] as number) < Math.floor(this.now() / 1000)) return null;
    if (Item['status'] === 'in_progress') {
      return {
        status: 'in_progress',
        fingerprint: Item['fingerprint'] as string,
        owner: Item['owner'] as string,
        leaseUntil: Item['leaseUntil'] as number,
        expiresAt: Item['expiresAt'] as number,
      };
    }
    const gz = Item['responseBodyGzip'] as Uint8Array | undefined;
    const body = gz ? gunzipSync(gz).toString('utf8') : (Item['responseBody'] as string | undefined);
    return {
      status: 'completed',
      fingerprint: Item['fingerprint'] as string,
      expiresAt: Item['expiresAt'] as number,
      bodyOmitted: Item['bodyOmitted'] === true,
      response: {
        statusCode: Item['statusCode'] as number,
        headers: (Item['responseHeaders'] as Record<string, string> | undefined) ?? {},
        ...(body !== undefined ? { body } : {}),
      },
    };
  }

  /**
   * Records the response of the attempt that holds the key. A body too large even when gzipped
   * is not kept: the record still says "completed" (so nothing runs twice) with its status and
   * headers (Location names the result). Returns 'lost' when our lease was taken over.
   */
  async complete(ref: IdempotencyRef, owner: string, response: StoredResponse): Promise<'stored' | 'bodyOmitted' | 'lost'> {
    const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => (STORED_HEADERS as readonly string[]).includes(name.toLowerCase())));
    const body = response.body ?? '';
    let bodyAttributes: Record<string, unknown> = { responseBody: body };
    let bodyOmitted = false;
    if (Buffer.byteLength(body, 'utf8') > this.compressAboveBytes) {
      const gz = gzipSync(body);
      if (gz.byteLength > this.maxStoredBytes) {
        bodyAttributes = {};
        bodyOmitted = true;
      } else {
        bodyAttributes = { responseBodyGzip: gz };
      }
    }
    const set: Record<string, unknown> = {
      status: 'completed',
      statusCode: response.statusCode,
      responseHeaders: headers,
      bodyOmitted,
      completedAt: new Date(this.now()).toISOString(),
      ...bodyAttributes,
    };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':owner': owner, ':inProgress': 'in_progress' };
    const clauses = Object.entries(set).map(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      return `#a${i} = :a${i}`;
    });
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(ref),
          UpdateExpression: `SET ${clauses.join(', ')} REMOVE #owner, #lease`,
          ConditionExpression: '#owner = :owner AND #status = :inProgress',
          ExpressionAttributeNames: { ...names, '#owner': 'owner', '#lease': 'leaseUntil', '#status': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
      return bodyOmitted ? 'bodyOmitted' : 'stored';
    } catch (error) {
      if (isConditionFailure(error)) return 'lost';
      throw error;
    }
  }

  /** Gives the key back after a failed attempt, so that a retry runs the request again. */
  async release(ref: IdempotencyRef, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: this.key(ref),
          ConditionExpression: '#owner = :owner AND #status = :inProgress',
          ExpressionAttributeNames: { '#owner': 'owner', '#status': 'status' },
          ExpressionAttributeValues: { ':owner': owner, ':inProgress': 'in_progress' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
