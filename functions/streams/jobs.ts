/**
 * The cascade-job step of the stream processor: a job item's record (its INSERT, or a MODIFY
 * that advanced its step or nudged it) runs the job's next chunk (domain/connections/cascade-job.ts), whose
 * own write of the next step becomes the record that carries on. Replays do nothing twice.
 */
import { runCascadeStep } from '../../domain/connections/cascade-job';
import type { CascadeJob } from '../../domain/connections/jobs-store';
import { LAST_ACTOR, runAs, type Actor } from '../../domain/kernel/actor';
import { ENTITY } from '../../domain/kernel/keys';
import { store } from '../shared/store';
import type { StreamStepInput } from './step';

export async function cascadeJobStep({ record, before, after }: StreamStepInput): Promise<void> {
  if (after?.['entity'] !== ENTITY.cascadeJob || after['status'] !== 'running') return;
  const moved = record.eventName === 'INSERT' || before?.['step'] !== after['step'] || before?.['nudgedAt'] !== after['nudgedAt'];
  if (!moved) return;
  const job = after as unknown as CascadeJob;
  // The job's deletions (and their tombstones) are recorded as the caller who asked for them.
  const requester = after[LAST_ACTOR] as Actor | undefined;
  await (requester ? runAs(requester, () => runCascadeStep(store, job)) : runCascadeStep(store, job));
}
