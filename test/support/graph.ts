/** The graph checker as a test assertion: a test ends by proving it left the graph sound. */
import { afterEach, expect } from 'vitest';
import { documentClient } from '../../domain/kernel/client';
import { checkGraph, type GraphReport } from '../../domain/connections/invariants';
import { newOrg } from './api';

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

/**
 * A fresh-organization factory for a test file whose every scenario must end with a sound graph:
 * after each test, the invariants of each organization it used are checked.
 */
export function graphCheckedOrgs(): (label: string) => string {
  const used: string[] = [];
  afterEach(async () => {
    for (const orgId of used.splice(0)) await expectGraphValid(orgId);
  });
  return (label: string) => {
    const orgId = newOrg(label);
    used.push(orgId);
    return orgId;
  };
}

/** The body of a call that must answer `status` (201 by default); else the test fails showing the body. */
export async function ok<T = any>(pending: Promise<{ status: number; body: T }>, status = 201): Promise<T> {
  const result = await pending;
  expect(result.status, JSON.stringify(result.body)).toBe(status);
  return result.body;
}
