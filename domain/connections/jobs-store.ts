/**
 * Cascade-delete jobs: the job item (status, phase, cursor, step) and its plan chunks under
 * one partition, plus the per-item writes a job makes (marks, edge removals, deletes).
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ItemType } from '../kernel/model';
import { strip } from '../pipes/store';
import { itemPk } from './store';
import { isConditionFailure, queryPage, type Item, type TransactItem } from '../kernel/dynamo';
import { ENTITY, META, keys } from '../kernel/keys';

export type JobStatus = 'running' | 'succeeded' | 'refused';
/** mark: every planned item gets the job's mark; delete: they go; unmark: a refusal gives them back. */
export type JobPhase = 'mark' | 'delete' | 'unmark' | 'done';

export interface CascadeJob {
  id: string;
  orgId: string;
  kind: 'delete';
  root: { type: ItemType; id: string };
  status: JobStatus;
  phase: JobPhase;
  /** The plan chunk the current phase works on next. */
  cursor: number;
  /** Chunks of the plan (each up to the chunk size the job was planned with). */
  chunks: number;
  /** Items the delete removes, root included. */
  total: number;
  /** Items deleted so far. */
  deleted: number;
  /** Only the holder of step n may store step n + 1. */
  step: number;
  /** During unmark: the last chunk the mark phase reached. */
  markedThrough?: number;
  error?: { code: string; detail: string; [key: string]: unknown };
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

/** An item of the plan; `seq` is the edge sequence the walk read (null: none), absent: not read. */
export interface PlanEntry {
  id: string;
  seq?: number | null;
}

/** Finished jobs stay readable this long (TTL), then DynamoDB removes them. */
const FINISHED_TTL_SECONDS = 7 * 24 * 3600;

export class JobStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  /** The job, its plan chunks and nothing else; the caller adds the root's mark. */
  createItems(job: CascadeJob, chunks: PlanEntry[][]): TransactItem[] {
    return [
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.cascadeJob(job.orgId, job.id), entity: ENTITY.cascadeJob, ...job },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      ...chunks.map((entries, i) => ({
        Put: {
          TableName: this.table,
          Item: { ...keys.cascadePlan(job.orgId, job.id, i), entity: ENTITY.cascadePlan, orgId: job.orgId, jobId: job.id, entries },
        },
      })),
    ];
  }

  async get(orgId: string, jobId: string): Promise<CascadeJob | null> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.cascadeJob(orgId, jobId), ConsistentRead: true }));
    // strip() drops orgId with the bookkeeping attributes; a job needs it for every key it forms.
    return item && item['entity'] === ENTITY.cascadeJob ? { ...strip<CascadeJob>(item), orgId } : null;
  }

  async chunk(orgId: string, jobId: string, index: number): Promise<PlanEntry[]> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.cascadePlan(orgId, jobId, index), ConsistentRead: true }));
    return (item?.['entries'] as PlanEntry[] | undefined) ?? [];
  }

  /** Stores the job's next state; false if another run already advanced it (a replay). */
  async advance(next: CascadeJob, previousStep: number): Promise<boolean> {
    const { orgId, id, ...rest } = next;
    const body: Record<string, unknown> = { ...rest };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':previous': previousStep };
    const set: string[] = [];
    Object.entries(body).forEach(([name, value], i) => {
      if (value === undefined) return;
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      set.push(`#a${i} = :a${i}`);
    });
    if (next.status !== 'running') {
      names['#ttl'] = 'expiresAt';
      values[':ttl'] = Math.floor(Date.now() / 1000) + FINISHED_TTL_SECONDS;
      set.push('#ttl = :ttl');
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.cascadeJob(orgId, id),
          UpdateExpression: `SET ${set.join(', ')}`,
          ConditionExpression: 'step = :previous',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Touches a running job so its stream record runs the current step again (a stalled job resumes). */
  async nudge(orgId: string, jobId: string, now: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.cascadeJob(orgId, jobId),
          UpdateExpression: 'SET nudgedAt = :now',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':now': now, ':running': 'running' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * The job's mark on an item: from now on no edge may be added to it, and it reads as gone.
   * Items the walk read keep the edge sequence it saw, so a connect since then refuses the mark.
   * Returns false if the condition failed (the caller finds out why).
   */
  markUpdate(orgId: string, type: ItemType, entry: PlanEntry, jobId: string): TransactItem {
    const values: Record<string, unknown> = { ':job': jobId };
    let guard = '';
    if (entry.seq === null) guard = ' AND attribute_not_exists(edgeSeq)';
    else if (entry.seq !== undefined) {
      guard = ' AND edgeSeq = :seq';
      values[':seq'] = entry.seq;
    }
    return {
      Update: {
        TableName: this.table,
        Key: { PK: itemPk(orgId, type, entry.id), SK: META },
        UpdateExpression: 'SET deleting = :job',
        ConditionExpression: `attribute_exists(PK) AND (deleting = :job OR (attribute_not_exists(deleting)${guard}))`,
        ExpressionAttributeValues: values,
      },
    };
  }

  unmarkUpdate(orgId: string, type: ItemType, id: string, jobId: string): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: { PK: itemPk(orgId, type, id), SK: META },
        UpdateExpression: 'REMOVE deleting',
        ConditionExpression: 'deleting = :job',
        ExpressionAttributeValues: { ':job': jobId },
      },
    };
  }

  /** The item's #META including the bookkeeping attributes (its mark, its edge sequence). */
  async rawMeta(orgId: string, type: ItemType, id: string): Promise<Item | null> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { PK: itemPk(orgId, type, id), SK: META }, ConsistentRead: true }));
    return (item as Item | undefined) ?? null;
  }

  /** A page of an item's partition (meta, counts, parent and child edges), strongly consistent. */
  async partitionPage(orgId: string, type: ItemType, id: string, limit: number, startKey?: Item) {
    return queryPage(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': itemPk(orgId, type, id) },
      ConsistentRead: true,
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
  }
}
