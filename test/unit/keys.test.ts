import { describe, expect, it } from 'vitest';
import { gsi1, gsi2, keys } from '../../domain/store/keys';

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
    expect(gsi1.pipesOfOrg('o1')).toBe('ORG#o1#PIPES');
    expect(gsi1.databasesOfOrg('o1')).toBe('ORG#o1#DBS');
    expect(gsi1.cardsOfPhase('o1', 'pipe_1', 'ph_1')).toBe('ORG#o1#PIPE#pipe_1#PHASE#ph_1');
    expect(gsi1.recordsOfDatabase('o1', 'db_1')).toBe('ORG#o1#DB#db_1#RECORDS');
    expect(gsi2.cardTitles('o1', 'pipe_1')).toBe('ORG#o1#PIPE#pipe_1#TITLE');
    expect(gsi2.recordTitles('o1', 'db_1')).toBe('ORG#o1#DB#db_1#TITLE');
    expect(gsi2.titleSortKey('ada', 'card_1')).toBe('ada#card_1');
  });
});
