/** Organization settings as the domain sees them. */

export interface OrgSettings {
  /** Days activity and audit entries are kept (DynamoDB TTL); a change applies to entries written from then on. */
  activityRetentionDays: number;
  version: number;
  updatedAt?: string;
}

export const RETENTION_LIMITS = { min: 1, max: 3650 } as const;
