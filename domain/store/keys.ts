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
  /** Sort key inside a list: creation order, since ids are ULIDs. */
  byId: (id: string) => id,
};

/** GSI2 (sparse): connectable items by normalized title prefix. */
export const gsi2 = {
  cardTitles: (orgId: string, pipeId: string) => `${org(orgId)}#PIPE#${pipeId}#TITLE`,
  recordTitles: (orgId: string, databaseId: string) => `${org(orgId)}#DB#${databaseId}#TITLE`,
  titleSortKey: (normalizedTitle: string, id: string) => `${normalizedTitle}#${id}`,
};

/** The partition-key prefix every item of an organization starts with (invariant checks, tests). */
export const orgPrefix = (orgId: string) => `${org(orgId)}#`;
