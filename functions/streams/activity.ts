/**
 * The activity step of the stream processor: each record of a card, a record, a tombstone or an
 * edge becomes an entry in the item's activity, and each record of a setup item (pipe, phase,
 * field, database, connection, automation, webhook, API token) an entry in the audit trail
 * (domain/activity.ts). Entries are keyed by the stream record, so a retry rewrites the same
 * entry; they expire after ACTIVITY_RETENTION_DAYS (90 by default).
 */
import { activityFromChange, auditFromChange, type ActivitySource } from '../../domain/activity';
import { DEFAULT_ACTIVITY_RETENTION_DAYS } from '../../domain/activity-log';
import { store } from '../shared/store';
import type { StreamStepInput } from './processor';

const configured = Number(process.env['ACTIVITY_RETENTION_DAYS']);
export const ACTIVITY_RETENTION_DAYS = Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_ACTIVITY_RETENTION_DAYS;

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
  await Promise.all([
    ...entries.map((entry) => store.activity.putActivity(entry, ACTIVITY_RETENTION_DAYS)),
    ...(audit ? [store.activity.putAudit(audit, ACTIVITY_RETENTION_DAYS)] : []),
  ]);
}
