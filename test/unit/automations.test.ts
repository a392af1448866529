import { describe, expect, it } from 'vitest';
import {
  automationActor,
  AutomationFailedError,
  cardFinished,
  cardTriggerKey,
  childrenTriggerKey,
  deriveItemId,
  firedByCardChange,
  writerOf,
  type CardImage,
} from '../../domain/automations/runs';
import type { Automation } from '../../domain/automations/model';
import { principalFromClaims } from '../../domain/kernel/auth';
import { isId } from '../../domain/kernel/ids';
import { CreateAutomation } from '../../functions/api/schemas';

const AUTO_A = 'auto_01JD0000000000000000000000';
const AUTO_B = 'auto_01JD0000000000000000000001';

function automation(id: string, trigger: Automation['trigger'], extra: Partial<Automation> = {}): Automation {
  return {
    id,
    name: id,
    pipeId: 'pipe_1',
    enabled: true,
    trigger,
    action: { type: 'move_card', phaseId: 'ph_done' },
    version: 1,
    createdBy: 'user-1',
    createdAt: '2026-11-27T00:00:00.000Z',
    updatedAt: '2026-11-27T00:00:00.000Z',
    ...extra,
  };
}

function card(extra: Partial<CardImage> = {}): CardImage {
  return {
    id: 'card_1',
    pipeId: 'pipe_1',
    phaseId: 'ph_a',
    values: { fld_x: 'one' },
    version: 1,
    updatedAt: '2026-11-27T10:00:00.000Z',
    createdBy: 'user-1',
    ...extra,
  };
}

const all = [
  automation(AUTO_A, { type: 'card.created' }),
  automation(AUTO_B, { type: 'card.entered_phase', phaseId: 'ph_b' }),
  automation('auto_field', { type: 'field.changed', fieldId: 'fld_x' }),
  automation('auto_children', { type: 'children.all_finished', connectionId: 'conn_1' }),
];
const ids = (list: Automation[]) => list.map((a) => a.id);

describe('which automations a card change fires', () => {
  it('card.created fires on the INSERT only', () => {
    expect(ids(firedByCardChange('INSERT', undefined, card(), all))).toEqual([AUTO_A]);
    expect(ids(firedByCardChange('MODIFY', card(), card({ version: 2 }), all))).toEqual([]);
  });

  it('card.entered_phase fires when the card moves into that phase, not when it stays or moves elsewhere', () => {
    expect(ids(firedByCardChange('MODIFY', card(), card({ phaseId: 'ph_b', version: 2 }), all))).toEqual([AUTO_B]);
    expect(ids(firedByCardChange('MODIFY', card({ phaseId: 'ph_b' }), card({ phaseId: 'ph_b', version: 2, values: { fld_x: 'one' } }), all))).toEqual([]);
    expect(ids(firedByCardChange('MODIFY', card(), card({ phaseId: 'ph_c', version: 2 }), all))).toEqual([]);
  });

  it('field.changed fires when the value differs: set, changed or cleared; not for other fields', () => {
    expect(ids(firedByCardChange('MODIFY', card(), card({ values: { fld_x: 'two' } }), all))).toEqual(['auto_field']);
    expect(ids(firedByCardChange('MODIFY', card(), card({ values: {} }), all))).toEqual(['auto_field']);
    expect(ids(firedByCardChange('MODIFY', card({ values: {} }), card({ values: { fld_x: ['a'] } }), all))).toEqual(['auto_field']);
    expect(ids(firedByCardChange('MODIFY', card(), card({ values: { fld_x: 'one', fld_y: 1 } }), all))).toEqual([]);
  });

  it('skips disabled automations and those of other pipes', () => {
    const others = [automation(AUTO_A, { type: 'card.created' }, { enabled: false }), automation(AUTO_B, { type: 'card.created' }, { pipeId: 'pipe_2' })];
    expect(firedByCardChange('INSERT', undefined, card(), others)).toEqual([]);
  });

  it('a child finishing is a MODIFY that sets finishedAt', () => {
    expect(cardFinished('MODIFY', card(), card({ finishedAt: '2026-11-27T10:00:00.000Z' }))).toBe(true);
    expect(cardFinished('MODIFY', card({ finishedAt: 'x' }), card({ finishedAt: 'x' }))).toBe(false);
    expect(cardFinished('INSERT', undefined, card({ finishedAt: 'x' }))).toBe(false);
  });
});

describe('who wrote a card', () => {
  it('the writer is read from the mark the system writes, with its generation and chain', () => {
    expect(writerOf('MODIFY', card({ changedBy: { source: 'propagation' } }))).toEqual({ source: 'propagation', depth: 0 });
    expect(writerOf('MODIFY', card())).toEqual({ source: 'user', depth: 0 });
    const mark = { source: 'automation', automationId: AUTO_B, depth: 2, chainId: 'card_x#v000000000001' };
    expect(writerOf('INSERT', card({ changedBy: mark }))).toEqual({ source: 'automation', automationId: AUTO_B, depth: 2, chainId: mark.chainId });
    expect(writerOf('MODIFY', card({ changedBy: mark }))).toEqual({ source: 'automation', automationId: AUTO_B, depth: 2, chainId: mark.chainId });
  });

  it('createdBy is display only: a subject that looks like an automation is a user', () => {
    expect(automationActor(AUTO_A, 1)).toBe(`automation:${AUTO_A}`);
    expect(writerOf('INSERT', card({ createdBy: automationActor(AUTO_A, 1) }))).toEqual({ source: 'user', depth: 0 });
    expect(writerOf('INSERT', card({ createdBy: `automation:${AUTO_A}:99` }))).toEqual({ source: 'user', depth: 0 });
  });

  it('a token may not claim the automation namespace as its subject', () => {
    const claims = { org_id: 'org-1', role: 'admin' };
    expect(() => principalFromClaims({ ...claims, sub: `automation:${AUTO_A}` })).toThrow(/reserved for automations/);
    expect(() => principalFromClaims({ ...claims, sub: `automation:${AUTO_A}:99` })).toThrow(/reserved for automations/);
    expect(principalFromClaims({ ...claims, sub: 'user-1' })).toEqual({ orgId: 'org-1', role: 'admin', userId: 'user-1' });
  });
});

describe('trigger keys and derived ids', () => {
  it('a card trigger is the card and the version its write produced', () => {
    expect(cardTriggerKey({ id: 'card_1', version: 7 })).toBe('card_1#v000000000007');
  });

  it('children.all_finished keys on the set of children, whichever child noticed', () => {
    const key = childrenTriggerKey('card_p', 'conn_1', ['card_b', 'card_a']);
    expect(childrenTriggerKey('card_p', 'conn_1', ['card_a', 'card_b'])).toBe(key);
    expect(childrenTriggerKey('card_p', 'conn_1', ['card_a', 'card_b', 'card_c'])).not.toBe(key);
    expect(key.startsWith('card_p#conn_1#')).toBe(true);
  });

  it('derived ids are valid, deterministic, time-ordered ids of the right kind', () => {
    const t = Date.parse('2026-11-27T10:00:00.000Z');
    const id = deriveItemId('card', `${AUTO_A}|card_1#v2`, t);
    expect(isId('card', id)).toBe(true);
    expect(deriveItemId('card', `${AUTO_A}|card_1#v2`, t)).toBe(id);
    expect(deriveItemId('card', `${AUTO_A}|card_1#v3`, t)).not.toBe(id);
    expect(deriveItemId('card', `${AUTO_A}|card_1#v2`, t + 1) > id).toBe(true);
    expect(isId('record', deriveItemId('record', 'seed', t))).toBe(true);
    expect(isId('card', deriveItemId('card', 'seed', Number.NaN))).toBe(true);
  });
});

describe('automation requests and failures', () => {
  it('the schema takes each trigger and action with exactly its own properties', () => {
    const base = { name: 'x', pipeId: 'pipe_01JD0000000000000000000000' };
    const ok = (trigger: unknown, action: unknown) => CreateAutomation().safeParse({ ...base, trigger, action }).success;
    expect(ok({ type: 'card.created' }, { type: 'set_field', fieldId: 'fld_01JD0000000000000000000000', value: null })).toBe(true);
    expect(
      ok({ type: 'children.all_finished', connectionId: 'conn_01JD0000000000000000000000' }, { type: 'move_card', phaseId: 'ph_01JD0000000000000000000000' }),
    ).toBe(true);
    expect(ok({ type: 'card.entered_phase' }, { type: 'move_card', phaseId: 'ph_01JD0000000000000000000000' })).toBe(false);
    expect(ok({ type: 'card.created', fieldId: 'fld_01JD0000000000000000000000' }, { type: 'move_card', phaseId: 'ph_01JD0000000000000000000000' })).toBe(
      false,
    );
    expect(ok({ type: 'card.created' }, { type: 'create_connected_card', connectionId: 'pipe_01JD0000000000000000000000' })).toBe(false);
  });

  it('a failure names the automation, the card and the reason', () => {
    const error = new AutomationFailedError([
      {
        automationId: AUTO_A,
        name: 'Hired → onboarding',
        subjectId: 'card_1',
        code: 'connection.unknown',
        message: 'could not create a connected card through conn_1: Connection conn_1 does not exist',
      },
    ]);
    expect(error.message).toBe(
      `Automation "Hired → onboarding" (${AUTO_A}) failed for card_1: could not create a connected card through conn_1: Connection conn_1 does not exist [connection.unknown]`,
    );
  });
});
