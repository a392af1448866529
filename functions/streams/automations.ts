/**
 * The automations step of the stream processor: a card's INSERT or MODIFY runs what it triggers
 * (domain/automations/runs.ts). Runs after propagation, so the summaries a parent holds of its
 * children already reflect the record when children.all_finished is checked. Throws when an
 * action fails, which fails the record: retried per STREAM_SETTINGS, then dead-lettered.
 */
import { AutomationRunner, type CardImage } from '../../domain/automations/runs';
import { AutomationStore } from '../../domain/automations/store';
import type { StreamWork } from '../../domain/propagation/stream';
import { documentClient } from '../../domain/kernel/client';
import { ENTITY } from '../../domain/kernel/keys';
import { logger } from '../shared/logger';
import { recordAutomationRun } from '../shared/metrics';
import { store } from '../shared/store';
import type { StreamStepInput } from './step';

const repository = new AutomationStore(documentClient, store.table);

/** One runner per batch (keyed by the batch's StreamWork): automations are read once per pipe per batch. */
const runners = new WeakMap<StreamWork, AutomationRunner>();

export async function automationStep({ record, before, after, work }: StreamStepInput): Promise<void> {
  if (!after || after['entity'] !== ENTITY.card) return;
  if (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY') return;
  let runner = runners.get(work);
  if (!runner) {
    runner = new AutomationRunner(store, repository);
    runners.set(work, runner);
  }
  let outcomes: Awaited<ReturnType<AutomationRunner['cardChanged']>>;
  try {
    outcomes = await runner.cardChanged(after['orgId'] as string, record.eventName, before as CardImage | undefined, after as unknown as CardImage);
  } catch (error) {
    recordAutomationRun('failed');
    throw error;
  }
  for (const { automationId, run, replayed } of outcomes) {
    if (!replayed && (run.status === 'done' || run.status === 'skipped')) recordAutomationRun(run.status);
    if (run.status === 'skipped' && !replayed) {
      logger.warn('Automation run skipped', { automationId, subjectId: run.subjectId, triggerKey: run.triggerKey, reason: run.error?.message });
    }
  }
}
