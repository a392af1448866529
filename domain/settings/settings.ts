/**
 * Organization settings an admin changes through the API. Today: how long activity and audit
 * entries are kept. One item per organization; absent means the defaults (version 0).
 */
import { DEFAULT_ACTIVITY_RETENTION_DAYS } from '../activity/activity-log';
import type { UseCaseContext } from '../kernel/context';
import { nowIso } from '../kernel/context';
import { PreconditionFailedError } from '../kernel/errors';
import type { OrgSettings } from './model';

const withDefaults = (stored: Partial<OrgSettings> | null): OrgSettings => ({
  activityRetentionDays: stored?.activityRetentionDays ?? DEFAULT_ACTIVITY_RETENTION_DAYS,
  version: stored?.version ?? 0,
  ...(stored?.updatedAt ? { updatedAt: stored.updatedAt } : {}),
});

export async function getSettings(ctx: UseCaseContext): Promise<OrgSettings> {
  return withDefaults(await ctx.store.settings.get(ctx.principal.orgId));
}

export async function updateSettings(ctx: UseCaseContext, change: { activityRetentionDays?: number }, ifMatch?: number): Promise<OrgSettings> {
  const updated = await ctx.store.settings.update(ctx.principal.orgId, change, nowIso(ctx), ifMatch);
  if (!updated) {
    const current = await getSettings(ctx);
    throw new PreconditionFailedError(`The settings are at version ${current.version}, not ${ifMatch}`, { currentVersion: current.version });
  }
  return withDefaults(updated);
}
