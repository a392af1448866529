/** The graph checker as a test assertion: a test ends by proving it left the graph sound. */
import { expect } from 'vitest';
import { documentClient } from '../../domain/store/client';
import { checkGraph, type GraphReport } from '../../domain/store/invariants';

/** Every violation of an organization's graph (empty when sound). */
export async function graphOf(orgId: string): Promise<GraphReport> {
  const table = process.env['TABLE_NAME'];
  if (!table) throw new Error('TABLE_NAME is not set: run under vitest (test/support/global-setup.ts)');
  return checkGraph(documentClient, table, orgId);
}

/** Fails the test with the list of violations, one per line, if the graph is not sound. */
export async function expectGraphValid(orgId: string): Promise<GraphReport> {
  const report = await graphOf(orgId);
  expect(report.violations, `graph of organization ${orgId} has ${report.violations.length} violation(s):\n  ${report.violations.join('\n  ')}`).toEqual([]);
  return report;
}
