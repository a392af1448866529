/**
 * Every key string of the single table lives here, and only here. Each builder takes the
 * organization first, so no key can be formed outside the caller's tenant. A change to any
 * string below is a data migration: test/unit/keys.test.ts pins them.
 */
export const ENTITY = {
  pipe: 'Pipe',
  phase: 'Phase',
  field: 'Field',
  database: 'Database',
  card: 'Card',
  record: 'Record',
  idempotency: 'Idempotency',
  connection: 'Connection',
  connectionOut: 'ConnectionOut',
  connectionIn: 'ConnectionIn',
  childEdge: 'ChildEdge',
  parentEdge: 'ParentEdge',
  childCount: 'ChildCount',
  propagationJob: 'PropagationJob',
  cascadeJob: 'CascadeJob',
  cascadePlan: 'CascadePlan',
  fanOutMark: 'FanOutMark',
  automation: 'Automation',
  automationRun: 'AutomationRun',
  automationBudget: 'AutomationBudget',
  webhook: 'Webhook',
  webhookCount: 'WebhookCount',
  webhookDelivery: 'WebhookDelivery',
  deliverySlots: 'DeliverySlots',
  apiToken: 'ApiToken',
  apiTokenCount: 'ApiTokenCount',
  apiTokenLookup: 'ApiTokenLookup',
  tombstone: 'Tombstone',
  activity: 'Activity',
  audit: 'Audit',
  orgSettings: 'OrgSettings',
} as const;

export type EntityType = (typeof ENTITY)[keyof typeof ENTITY];

/**
 * Attributes every item may carry for the store's own use (keys, index keys, bookkeeping), never
 * part of what an entity is: `strip` drops them, and activity never diffs them.
 */
export const STORE_ATTRIBUTES = [
  'PK',
  'SK',
  'GSI1PK',
  'GSI1SK',
  'GSI2PK',
  'GSI2SK',
  'GSI3PK',
  'entity',
  'orgId',
  'deleting',
  'closing',
  'edgeSeq',
  'changedBy',
  'lastActor',
] as const;

export const META = '#META';

const org = (orgId: string) => `ORG#${orgId}`;

export const keys = {
  pipe: (orgId: string, pipeId: string) => ({ PK: `${org(orgId)}#PIPE#${pipeId}`, SK: META }),
  phase: (orgId: string, pipeId: string, phaseId: string) => ({
    PK: `${org(orgId)}#PIPE#${pipeId}`,
    SK: `PHASE#${phaseId}`,
  }),
  /** Fields of a pipe or of a database share one shape under their container's partition. */
  pipeField: (orgId: string, pipeId: string, fieldId: string) => ({
    PK: `${org(orgId)}#PIPE#${pipeId}`,
    SK: `FIELD#${fieldId}`,
  }),
  database: (orgId: string, databaseId: string) => ({ PK: `${org(orgId)}#DB#${databaseId}`, SK: META }),
  databaseField: (orgId: string, databaseId: string, fieldId: string) => ({
    PK: `${org(orgId)}#DB#${databaseId}`,
    SK: `FIELD#${fieldId}`,
  }),
  card: (orgId: string, cardId: string) => ({ PK: `${org(orgId)}#CARD#${cardId}`, SK: META }),
  record: (orgId: string, recordId: string) => ({ PK: `${org(orgId)}#REC#${recordId}`, SK: META }),
  connection: (orgId: string, connectionId: string) => ({ PK: `${org(orgId)}#CONN#${connectionId}`, SK: META }),
  /** Copies of a connection definition in its parent's and its child's container partitions. */
  connectionOut: (containerPk: string, connectionId: string) => ({ PK: containerPk, SK: `CONNOUT#${connectionId}` }),
  connectionIn: (containerPk: string, connectionId: string) => ({ PK: containerPk, SK: `CONNIN#${connectionId}` }),
  /**
   * Edges live in the partitions of the items they join. Their sort keys are chosen so that
   * counts and parents sort before #META's neighbours and children last: one Query page of an
   * item returns its header, its counts, its parents and as many children as fit.
   */
  childEdge: (itemPk: string, connectionId: string, childId: string) => ({ PK: itemPk, SK: `CHILD#${connectionId}#${childId}` }),
  parentEdge: (itemPk: string, connectionId: string, parentId: string) => ({ PK: itemPk, SK: `#PARENT#${connectionId}#${parentId}` }),
  childCount: (itemPk: string, connectionId: string) => ({ PK: itemPk, SK: `#COUNT#${connectionId}` }),
  /** A fan-out too large for one stream invocation continues from the cursor this item holds. */
  propagationJob: (orgId: string, parentId: string, parentVersion: number) => ({
    PK: `${org(orgId)}#JOB#${parentId}`,
    SK: `PROPAGATE#${String(parentVersion).padStart(12, '0')}`,
  }),
  /**
   * A durable cascade delete: the job (status, phase, cursor) and its plan, the items to delete
   * in chunks, written once with the job. Job ids (`job_…`) never collide with item ids.
   */
  cascadeJob: (orgId: string, jobId: string) => ({ PK: `${org(orgId)}#JOB#${jobId}`, SK: META }),
  cascadePlan: (orgId: string, jobId: string, chunk: number) => ({ PK: `${org(orgId)}#JOB#${jobId}`, SK: `PLAN#${String(chunk).padStart(6, '0')}` }),
  /**
   * The fan-out in flight for a parent (one at a time: a newer version takes it over), holding
   * its cursor; deleted when done. Beside it, the mark of the last parent version every child got.
   */
  fanOut: (orgId: string, parentId: string) => ({ PK: `${org(orgId)}#JOB#${parentId}`, SK: 'FANOUT' }),
  fanOutMark: (orgId: string, parentId: string) => ({ PK: `${org(orgId)}#JOB#${parentId}`, SK: 'SYNCED' }),
  /**
   * An automation under its own partition (read and written by id), with its runs: one item per
   * trigger it fired on (the replay guard and the log of outcomes) and its loop-guard counters.
   */
  automation: (orgId: string, automationId: string) => ({ PK: `${org(orgId)}#AUTO#${automationId}`, SK: META }),
  automationRun: (orgId: string, automationId: string, triggerKey: string) => ({
    PK: `${org(orgId)}#AUTO#${automationId}`,
    SK: `RUN#${triggerKey}`,
  }),
  automationBudget: (orgId: string, automationId: string, subjectId: string, window: string) => ({
    PK: `${org(orgId)}#AUTO#${automationId}`,
    SK: `BUDGET#${subjectId}#${window}`,
  }),
  /** Card creations by automations within one chain (see AUTOMATION_LIMITS). */
  automationChainBudget: (orgId: string, chainId: string) => ({ PK: `${org(orgId)}#AUTOCHAIN#${chainId}`, SK: META }),
  /** Card creations by automations in one organization in one minute. */
  automationOrgBudget: (orgId: string, minute: string) => ({ PK: `${org(orgId)}#AUTORATE#${minute}`, SK: META }),
  /**
   * The webhooks of an organization share one partition (with their count), so the stream reads
   * them all with one strongly consistent Query. Deliveries live under their webhook, one item per
   * event: the key is the replay guard, and event ids sort by time, so the log reads newest first.
   */
  webhook: (orgId: string, webhookId: string) => ({ PK: `${org(orgId)}#WEBHOOKS`, SK: `WH#${webhookId}` }),
  webhookCount: (orgId: string) => ({ PK: `${org(orgId)}#WEBHOOKS`, SK: '#COUNT' }),
  /** The organization's webhook attempts in flight (leases), which the delivery consumer caps. */
  deliverySlots: (orgId: string) => ({ PK: `${org(orgId)}#WEBHOOKS`, SK: '#SLOTS' }),
  webhookDelivery: (orgId: string, webhookId: string, eventId: string) => ({
    PK: `${org(orgId)}#WH#${webhookId}`,
    SK: `DELIVERY#${eventId}`,
  }),
  /**
   * The API tokens of an organization share one partition with their count (the limit is
   * enforced in the same transaction as the write): one Query lists them all.
   */
  apiToken: (orgId: string, tokenId: string) => ({ PK: `${org(orgId)}#APITOKENS`, SK: `TOKEN#${tokenId}` }),
  apiTokenCount: (orgId: string) => ({ PK: `${org(orgId)}#APITOKENS`, SK: '#COUNT' }),
  /**
   * The one key that does not start with the organization, by necessity: a caller presents only
   * the secret, so the authorizer finds the token by the secret's SHA-256. The hash of a 256-bit
   * random secret cannot be guessed or chosen, so no request can name another tenant's item;
   * the item names the organization it belongs to, and nothing else is reachable through it.
   */
  apiTokenLookup: (secretHash: string) => ({ PK: `APITOKEN#${secretHash}`, SK: META }),
  /** What is left of a deleted card or record for incremental sync, until its TTL. */
  tombstone: (orgId: string, itemId: string) => ({ PK: `${org(orgId)}#TOMB#${itemId}`, SK: META }),
  /**
   * Activity of one card or record, in a partition of its own (not the item's): it outlives the
   * item (deleted items keep their history until its TTL) and a cascade delete, which removes
   * the item's partition, never has to page through it. The sort key orders it by time; the
   * stream record's id makes a replayed record land on the same key.
   */
  activity: (orgId: string, itemId: string, occurredAt: string, changeId: string) => ({
    PK: `${org(orgId)}#ACT#${itemId}`,
    SK: `${occurredAt}#${changeId}`,
  }),
  /** The organization's settings (absent until an admin changes one). */
  orgSettings: (orgId: string) => ({ PK: `${org(orgId)}#SETTINGS`, SK: META }),
  /** The organization's audit trail of setup changes: one time-ordered partition (setup changes are rare). */
  audit: (orgId: string, occurredAt: string, changeId: string) => ({ PK: `${org(orgId)}#AUDIT`, SK: `${occurredAt}#${changeId}` }),
  idempotency: (orgId: string, scope: string, key: string) => ({
    PK: `${org(orgId)}#IDEM#${scope}#${key}`,
    SK: META,
  }),
};

/** GSI1: overloaded list indexes, named after the access pattern they serve. */
export const gsi1 = {
  pipesOfOrg: (orgId: string) => `${org(orgId)}#PIPES`,
  databasesOfOrg: (orgId: string) => `${org(orgId)}#DBS`,
  cardsOfPhase: (orgId: string, pipeId: string, phaseId: string) => `${org(orgId)}#PIPE#${pipeId}#PHASE#${phaseId}`,
  recordsOfDatabase: (orgId: string, databaseId: string) => `${org(orgId)}#DB#${databaseId}#RECORDS`,
  connectionsOfOrg: (orgId: string) => `${org(orgId)}#CONNS`,
  /** Every child edge of a connection: counts them and removes them when the connection goes. */
  edgesOfConnection: (orgId: string, connectionId: string) => `${org(orgId)}#CONN#${connectionId}#EDGES`,
  edgeSortKey: (parentId: string, childId: string) => `${parentId}#${childId}`,
  /** The automations of a pipe: one Query loads them for a stream batch or an admin list. */
  automationsOfPipe: (orgId: string, pipeId: string) => `${org(orgId)}#PIPE#${pipeId}#AUTOS`,
  /** Sort key inside a list: creation order, since ids are ULIDs. */
  byId: (id: string) => id,
};

/** GSI2 (sparse): connectable items by normalized title prefix. */
export const gsi2 = {
  cardTitles: (orgId: string, pipeId: string) => `${org(orgId)}#PIPE#${pipeId}#TITLE`,
  recordTitles: (orgId: string, databaseId: string) => `${org(orgId)}#DB#${databaseId}#TITLE`,
  titleSortKey: (normalizedTitle: string, id: string) => `${normalizedTitle}#${id}`,
  /** Every automation of an organization, by id (the org-wide admin list); few items, rare writes. */
  automationsOfOrg: (orgId: string) => `${org(orgId)}#AUTOS`,
};

/**
 * GSI3 (sparse): the change log of a container. Its sort key is the item's own `updatedAt`
 * attribute, so every write that stamps updatedAt (user writes, moves, propagation) re-sorts the
 * item with no extra key to maintain; tombstones of deleted items join with their deletion time.
 */
export const gsi3 = {
  changesOfPipe: (orgId: string, pipeId: string) => `${org(orgId)}#PIPE#${pipeId}#CHANGES`,
  changesOfDatabase: (orgId: string, databaseId: string) => `${org(orgId)}#DB#${databaseId}#CHANGES`,
};

/** The partitions activity and audit entries are read from (newest first). */
export const activityPartitions = {
  ofItem: (orgId: string, itemId: string) => `${org(orgId)}#ACT#${itemId}`,
  audit: (orgId: string) => `${org(orgId)}#AUDIT`,
};

/** Sort-key prefix of an automation's runs inside its partition. */
export const AUTOMATION_RUN_PREFIX = 'RUN#';

/** Sort-key prefixes of webhooks (in the organization's webhook partition) and of their deliveries. */
export const WEBHOOK_PREFIX = { webhook: 'WH#', delivery: 'DELIVERY#' } as const;

/** Sort-key prefix of API tokens in their organization's partition. */
export const API_TOKEN_SK_PREFIX = 'TOKEN#';

/** The partitions that webhook lists and delivery logs are read from. */
export const webhookPartitions = {
  webhooksOfOrg: (orgId: string) => keys.webhookCount(orgId).PK,
  deliveriesOfWebhook: (orgId: string, webhookId: string) => keys.webhookDelivery(orgId, webhookId, '').PK,
};

export const EDGE_PREFIX = { child: 'CHILD#', parent: '#PARENT#', count: '#COUNT#', connOut: 'CONNOUT#', connIn: 'CONNIN#' } as const;

/** The partition-key prefix every item of an organization starts with (invariant checks, tests). */
export const orgPrefix = (orgId: string) => `${org(orgId)}#`;
