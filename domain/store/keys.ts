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
} as const;

export type EntityType = (typeof ENTITY)[keyof typeof ENTITY];

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
  /** Sort key inside a list: creation order, since ids are ULIDs. */
  byId: (id: string) => id,
};

/** GSI2 (sparse): connectable items by normalized title prefix. */
export const gsi2 = {
  cardTitles: (orgId: string, pipeId: string) => `${org(orgId)}#PIPE#${pipeId}#TITLE`,
  recordTitles: (orgId: string, databaseId: string) => `${org(orgId)}#DB#${databaseId}#TITLE`,
  titleSortKey: (normalizedTitle: string, id: string) => `${normalizedTitle}#${id}`,
};

export const EDGE_PREFIX = { child: 'CHILD#', parent: '#PARENT#', count: '#COUNT#', connOut: 'CONNOUT#', connIn: 'CONNIN#' } as const;

/** The partition-key prefix every item of an organization starts with (invariant checks, tests). */
export const orgPrefix = (orgId: string) => `${org(orgId)}#`;
