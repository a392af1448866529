/**
 * The automations repository. An automation lives under its own partition (`ORG#o#AUTO#a`), so
 * the id-addressed routes read and write it with one GetItem or one conditional write, and
 * GSI1 lists a pipe's automations (`ORG#o#PIPE#p#AUTOS`): one Query per pipe serves both the
 * admin list and the stream, which loads them once per pipe per batch. The pipe partition is
 * left alone on purpose: every card request reads it whole, and automations would only add to
 * that read. GSI2 lists the organization's automations (`ORG#o#AUTOS`). Runs and loop-guard counters share the automation's partition and expire by TTL.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Automation, AutomationRun } from './model';
import type { Edge } from '../connections/model';
import type { ItemType } from '../kernel/model';
import { itemPk } from '../connections/store';
import { containerLive, strip } from '../pipes/store';
import { isConditionFailure, queryAll, queryPage, TransactionCancelled, transactWrite, type Item } from '../kernel/dynamo';
import { AUTOMATION_RUN_PREFIX, EDGE_PREFIX, ENTITY, gsi1, gsi2, keys } from '../kernel/keys';

/** Runs are kept this long: well past the stream's record age and retries, so no replay outlives its guard. */
export const RUN_TTL_SECONDS = 7 * 24 * 3600;

const epochSeconds = (now: Date) => Math.floor(now.getTime() / 1000);

export class AutomationStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  private item(orgId: string, automation: Automation): Item {
    return {
      ...keys.automation(orgId, automation.id),
      GSI1PK: gsi1.automationsOfPipe(orgId, automation.pipeId),
      GSI1SK: gsi1.byId(automation.id),
      GSI2PK: gsi2.automationsOfOrg(orgId),
      GSI2SK: gsi1.byId(automation.id),
      entity: ENTITY.automation,
      orgId,
      ...automation,
    };
  }

  /** Writes a new automation under a pipe that exists and is not being deleted; false if the pipe is gone. */
  async create(orgId: string, automation: Automation): Promise<boolean> {
    try {
      await transactWrite(this.doc, [
        { Put: { TableName: this.table, Item: this.item(orgId, automation), ConditionExpression: 'attribute_not_exists(PK)' } },
        containerLive(orgId, 'pipe', automation.pipeId, this.table),
      ]);
      return true;
    } catch (error) {
      if (error instanceof TransactionCancelled && error.failed(1)) return false;
      throw error;
    }
  }

  async get(orgId: string, automationId: string): Promise<Automation | null> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.automation(orgId, automationId), ConsistentRead: true }));
    return item ? strip<Automation>(item) : null;
  }

  /** Replaces an automation read at `readVersion`; false if it changed or went meanwhile. */
  async replace(orgId: string, automation: Automation, readVersion: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: this.item(orgId, automation),
          ConditionExpression: 'attribute_exists(PK) AND version = :read',
          ExpressionAttributeValues: { ':read': readVersion },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Deletes an automation (at a version, if given); false if it is gone or changed. Its runs expire by TTL. */
  async delete(orgId: string, automationId: string, expectedVersion?: number): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.automation(orgId, automationId),
          ConditionExpression: `attribute_exists(PK)${expectedVersion !== undefined ? ' AND version = :v' : ''}`,
          ExpressionAttributeValues: expectedVersion !== undefined ? { ':v': expectedVersion } : undefined,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async pageOfPipe(orgId: string, pipeId: string, limit: number, startKey?: Item) {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': gsi1.automationsOfPipe(orgId, pipeId) },
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
    return { items: page.items.map((i) => strip<Automation>(i)), lastKey: page.lastKey };
  }

  /** The organization's automations in creation order (GSI2, one partition per organization). */
  async pageOfOrg(orgId: string, limit: number, startKey?: Item) {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      IndexName: 'GSI2',
      KeyConditionExpression: 'GSI2PK = :pk',
      ExpressionAttributeValues: { ':pk': gsi2.automationsOfOrg(orgId) },
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
    return { items: page.items.map((i) => strip<Automation>(i)), lastKey: page.lastKey };
  }

  /** Every automation of a pipe: what the stream matches a card's change against. */
  async allOfPipe(orgId: string, pipeId: string): Promise<Automation[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': gsi1.automationsOfPipe(orgId, pipeId) },
    });
    return items.map((i) => strip<Automation>(i));
  }

  /**
   * Claims the run of an automation for one trigger: written if it does not exist yet, else the
   * stored run is returned (a replay or a retry finds what the first delivery decided, such as
   * the id of the child it creates). `fresh` says this call wrote it.
   */
  async claimRun(orgId: string, run: AutomationRun, now: Date): Promise<{ run: AutomationRun; fresh: boolean }> {
    const key = keys.automationRun(orgId, run.automationId, run.triggerKey);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...key, entity: ENTITY.automationRun, orgId, ...run, expiresAt: epochSeconds(now) + RUN_TTL_SECONDS },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return { run, fresh: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    if (!item) throw new Error(`Automation run ${run.automationId} ${run.triggerKey} vanished while being claimed`);
    const { expiresAt: _ttl, ...stored } = strip<AutomationRun & { expiresAt?: number }>(item);
    return { run: stored, fresh: false };
  }

  /** Records the outcome of an attempt: done, skipped (with why) or failed (with the error). */
  async settleRun(orgId: string, run: AutomationRun, outcome: Pick<AutomationRun, 'status' | 'error' | 'childId'>, now: Date): Promise<AutomationRun> {
    const settled: AutomationRun = { ...run, ...outcome, attempts: run.attempts + 1, updatedAt: now.toISOString() };
    if (!outcome.error) delete settled.error;
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.automationRun(orgId, run.automationId, run.triggerKey),
          entity: ENTITY.automationRun,
          orgId,
          ...settled,
          expiresAt: epochSeconds(now) + RUN_TTL_SECONDS,
        },
      }),
    );
    return settled;
  }

  async pageOfRuns(orgId: string, automationId: string, limit: number, startKey?: Item) {
    const page = await queryPage(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.automation(orgId, automationId).PK, ':prefix': AUTOMATION_RUN_PREFIX },
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
    return {
      items: page.items.map((i) => {
        const { expiresAt: _ttl, ...run } = strip<AutomationRun & { expiresAt?: number }>(i);
        return run;
      }),
      lastKey: page.lastKey,
    };
  }

  /**
   * Spends one firing of an automation's loop-guard budget for one card in one time window;
   * false once the budget is spent. The counter expires with its window.
   */
  async spendBudget(orgId: string, automationId: string, subjectId: string, window: string, limit: number, expiresAt: number): Promise<boolean> {
    return this.spend(keys.automationBudget(orgId, automationId, subjectId, window), orgId, limit, expiresAt);
  }

  /** Spends one card creation of a chain's budget (a user write and all the automation runs it set off). */
  async spendChainBudget(orgId: string, chainId: string, limit: number, expiresAt: number): Promise<boolean> {
    return this.spend(keys.automationChainBudget(orgId, chainId), orgId, limit, expiresAt);
  }

  /** Spends one card creation of the organization's budget for one minute (`window`: YYYY-MM-DDTHH:MM). */
  async spendOrgBudget(orgId: string, window: string, limit: number, expiresAt: number): Promise<boolean> {
    return this.spend(keys.automationOrgBudget(orgId, window), orgId, limit, expiresAt);
  }

  /** One conditional ADD: false once the counter has reached the limit. The counter expires by TTL. */
  private async spend(key: { PK: string; SK: string }, orgId: string, limit: number, expiresAt: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET entity = :entity, orgId = :org, expiresAt = :ttl ADD fired :one',
          ConditionExpression: 'attribute_not_exists(fired) OR fired < :limit',
          ExpressionAttributeValues: { ':entity': ENTITY.automationBudget, ':org': orgId, ':ttl': expiresAt, ':one': 1, ':limit': limit },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** The parent edges an item holds (strongly consistent): who its parents are, through which connections. */
  async parentEdges(orgId: string, type: ItemType, id: string): Promise<Edge[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': itemPk(orgId, type, id), ':prefix': EDGE_PREFIX.parent },
      ConsistentRead: true,
    });
    return items.map((i) => strip<Edge>(i));
  }
}
