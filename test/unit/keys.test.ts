import { describe, expect, it } from 'vitest';
import { API_TOKEN_SK_PREFIX, AUTOMATION_RUN_PREFIX, gsi1, gsi2, gsi3, keys, WEBHOOK_PREFIX, webhookPartitions } from '../../domain/kernel/keys';

// A change to any of these strings is a data migration: this test is the tripwire.
describe('single-table keys', () => {
  it('pins every key string, each starting with the organization', () => {
    expect(keys.pipe('o1', 'pipe_1')).toEqual({ PK: 'ORG#o1#PIPE#pipe_1', SK: '#META' });
    expect(keys.phase('o1', 'pipe_1', 'ph_1')).toEqual({ PK: 'ORG#o1#PIPE#pipe_1', SK: 'PHASE#ph_1' });
    expect(keys.pipeField('o1', 'pipe_1', 'fld_1')).toEqual({ PK: 'ORG#o1#PIPE#pipe_1', SK: 'FIELD#fld_1' });
    expect(keys.database('o1', 'db_1')).toEqual({ PK: 'ORG#o1#DB#db_1', SK: '#META' });
    expect(keys.databaseField('o1', 'db_1', 'fld_1')).toEqual({ PK: 'ORG#o1#DB#db_1', SK: 'FIELD#fld_1' });
    expect(keys.card('o1', 'card_1')).toEqual({ PK: 'ORG#o1#CARD#card_1', SK: '#META' });
    expect(keys.record('o1', 'rec_1')).toEqual({ PK: 'ORG#o1#REC#rec_1', SK: '#META' });
    expect(keys.idempotency('o1', 'createCard', 'key-1')).toEqual({ PK: 'ORG#o1#IDEM#createCard#key-1', SK: '#META' });
    expect(gsi1.pipesOfOrg('o1')).toBe('ORG#o1#PIPES');
    expect(gsi1.databasesOfOrg('o1')).toBe('ORG#o1#DBS');
    expect(gsi1.cardsOfPhase('o1', 'pipe_1', 'ph_1')).toBe('ORG#o1#PIPE#pipe_1#PHASE#ph_1');
    expect(gsi1.recordsOfDatabase('o1', 'db_1')).toBe('ORG#o1#DB#db_1#RECORDS');
    expect(gsi2.cardTitles('o1', 'pipe_1')).toBe('ORG#o1#PIPE#pipe_1#TITLE');
    expect(gsi2.recordTitles('o1', 'db_1')).toBe('ORG#o1#DB#db_1#TITLE');
    expect(gsi2.titleSortKey('ada', 'card_1')).toBe('ada#card_1');
    expect(gsi2.automationsOfOrg('o1')).toBe('ORG#o1#AUTOS');
    expect(gsi3.changesOfPipe('o1', 'pipe_1')).toBe('ORG#o1#PIPE#pipe_1#CHANGES');
    expect(gsi3.changesOfDatabase('o1', 'db_1')).toBe('ORG#o1#DB#db_1#CHANGES');
    expect(keys.tombstone('o1', 'card_1')).toEqual({ PK: 'ORG#o1#TOMB#card_1', SK: '#META' });
  });

  it('pins the webhook keys: webhooks in one partition of the organization, deliveries under their webhook', () => {
    expect(keys.webhook('o1', 'wh_1')).toEqual({ PK: 'ORG#o1#WEBHOOKS', SK: 'WH#wh_1' });
    expect(keys.webhookCount('o1')).toEqual({ PK: 'ORG#o1#WEBHOOKS', SK: '#COUNT' });
    expect(keys.webhookDelivery('o1', 'wh_1', 'evt_1')).toEqual({ PK: 'ORG#o1#WH#wh_1', SK: 'DELIVERY#evt_1' });
    expect(keys.webhook('o1', 'wh_1').SK.startsWith(WEBHOOK_PREFIX.webhook)).toBe(true);
    expect(keys.webhookDelivery('o1', 'wh_1', 'evt_1').SK.startsWith(WEBHOOK_PREFIX.delivery)).toBe(true);
    expect(webhookPartitions.webhooksOfOrg('o1')).toBe('ORG#o1#WEBHOOKS');
    expect(webhookPartitions.deliveriesOfWebhook('o1', 'wh_1')).toBe('ORG#o1#WH#wh_1');
  });

  it('pins the automation keys: an automation, its runs and loop-guard counters under its own partition, listed per pipe on GSI1', () => {
    expect(keys.automation('o1', 'auto_1')).toEqual({ PK: 'ORG#o1#AUTO#auto_1', SK: '#META' });
    expect(keys.automationRun('o1', 'auto_1', 'card_1#v2')).toEqual({ PK: 'ORG#o1#AUTO#auto_1', SK: 'RUN#card_1#v2' });
    expect(keys.automationBudget('o1', 'auto_1', 'card_1', '2026-11-27T03')).toEqual({ PK: 'ORG#o1#AUTO#auto_1', SK: 'BUDGET#card_1#2026-11-27T03' });
    expect(keys.automationRun('o1', 'auto_1', 'x').SK.startsWith(AUTOMATION_RUN_PREFIX)).toBe(true);
    expect(gsi1.automationsOfPipe('o1', 'pipe_1')).toBe('ORG#o1#PIPE#pipe_1#AUTOS');
  });

  it('pins the API token keys: tokens in one partition of the organization, lookup items by secret hash', () => {
    expect(keys.apiToken('o1', 'tok_1')).toEqual({ PK: 'ORG#o1#APITOKENS', SK: 'TOKEN#tok_1' });
    expect(keys.apiTokenCount('o1')).toEqual({ PK: 'ORG#o1#APITOKENS', SK: '#COUNT' });
    expect(keys.apiToken('o1', 'tok_1').SK.startsWith(API_TOKEN_SK_PREFIX)).toBe(true);
    // The one key without the organization: found by the SHA-256 of a 256-bit secret only.
    expect(keys.apiTokenLookup('ab12')).toEqual({ PK: 'APITOKEN#ab12', SK: '#META' });
  });

  it('keeps an idempotency key inside its organization, whatever the key says', () => {
    // Keys are client input (printable ASCII, # included): they come last, after org and route.
    for (const key of ['#', 'ORG#o2#CARD#c', '../o2', ' spaced key ']) {
      expect(keys.idempotency('o1', 'createCard', key).PK.startsWith('ORG#o1#IDEM#createCard#')).toBe(true);
    }
    expect(keys.idempotency('o1', 'createCard', 'k').PK).not.toBe(keys.idempotency('o2', 'createCard', 'k').PK);
    expect(keys.idempotency('o1', 'createCard', 'k').PK).not.toBe(keys.idempotency('o1', 'createPipe', 'k').PK);
  });
});
