/**
 * The activity step of the stream processor: each record of a card, a record, a tombstone or an
 * edge becomes an entry in the item's activity, and each record of a setup item (pipe, phase,
 * field, database, connection, automation, webhook, API token) an entry in the audit trail
 * (domain/activity/activity.ts). Entries are keyed by the stream record, so a retry rewrites the same
 * entry; they expire after the organization's retention (settings; ACTIVITY_RETENTION_DAYS, 90, by default).
 */
import { activityFromChange, auditFromChange, type ActivitySource } from '../../domain/activity/activity';
import { DEFAULT_ACTIVITY_RETENTION_DAYS } from '../../domain/activity/activity-log';
import { store } from '../shared/store';
import type { StreamStepInput } from './step';

const configured = Number(process.env['ACTIVITY_RETENTION_DAYS']);
/** The deployment's default; an organization's settings (PATCH /v1/settings) override it. */
export const ACTIVITY_RETENTION_DAYS = Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_ACTIVITY_RETENTION_DAYS;

/** Each organization's retention, read at most once a minute per container (one GetItem). */
const retentionCache = new Map<string, { days: number; until: number }>();
const RETENTION_CACHE_MS = 60_000;

async function retentionOf(orgId: string): Promise<number> {
  const cached = retentionCache.get(orgId);
  if (cached && cached.until > Date.now()) return cached.days;
  const days = (await store.settings.get(orgId))?.activityRetentionDays ?? ACTIVITY_RETENTION_DAYS;
  retentionCache.set(orgId, { days, until: Date.now() + RETENTION_CACHE_MS });
  return days;
}

export async function activityStep({ record, before, after }: StreamStepInput): Promise<void> {
  const source: ActivitySource = {
    eventID: record.eventID ?? `${record.dynamodb?.SequenceNumber}`,
    eventName: record.eventName as ActivitySource['eventName'],
    ...(record.dynamodb?.ApproximateCreationDateTime !== undefined ? { approximateCreationTime: Number(record.dynamodb.ApproximateCreationDateTime) } : {}),
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
  };
  const entries = activityFromChange(source);
  const audit = auditFromChange(source);
  if (!entries.length && !audit) return;
  const days = await retentionOf((entries[0]?.orgId ?? audit?.orgId)!);
  await Promise.all([...entries.map((entry) => store.activity.putActivity(entry, days)), ...(audit ? [store.activity.putAudit(audit, days)] : [])]);
}
