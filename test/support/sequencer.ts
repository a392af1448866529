/**
 * Starts the files known to run longest first, so that they overlap with the many short ones
 * instead of running last on one worker while the other idles. Vitest's own order (by the
 * durations it cached, else by file size, project by project) has no cache on a fresh CI
 * checkout and would start them after every e2e and infra file.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Longest first (seconds measured on a two-core machine, full run of 2026-12-01). */
export const LONG_RUNNING = [
  'test/integration/fanout.test.ts', // 358 s
  'test/integration/cascade-jobs.test.ts', // 304 s
  'test/integration/propagation.test.ts', // 76 s
  'test/integration/automations.test.ts', // 29 s
  'test/integration/webhooks.test.ts', // 24 s
  'test/fuzz/write-routes.test.ts', // 21 s
  'test/e2e/scenarios.test.ts', // 15 s
  'test/e2e/cli.test.ts', // 15 s
  'test/infra/nag.test.ts', // 12 s
];

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = LONG_RUNNING.findIndex((path) => spec.moduleId.endsWith(`/${path}`));
      return index < 0 ? LONG_RUNNING.length : index;
    };
    // Array.prototype.sort is stable: the rest keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
