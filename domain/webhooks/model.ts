/** Webhooks and their deliveries as the domain sees them (no keys, no storage concerns). */
import type { EventType } from './events';

export interface Webhook {
  id: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  description?: string;
  /**
   * `whsec_` + base64 of 32 random bytes, as stored: sealed (encrypted, see SecretSealer) or, for
   * webhooks written before encryption, in plaintext. Never shown after creation or rotation.
   */
  secret: string;
  /** The start of the secret, shown on reads (kept apart: reads never decrypt). */
  secretHint?: string;
  /** After a rotation, deliveries are signed with both secrets until this expires (stored as `secret`). */
  previousSecret?: string;
  previousSecretExpiresAt?: string;
  /** Failed attempts in a row (any delivery); a success resets it. Written by the stream. */
  consecutiveFailures?: number;
  lastFailureAt?: string;
  version: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  durationMs: number;
  statusCode?: number;
  error?: string;
}

export interface WebhookDelivery {
  webhookId: string;
  eventId: string;
  eventType: EventType;
  /** The exact body sent on every attempt (what the signature covers). */
  payload: string;
  status: DeliveryStatus;
  /** Attempts made so far, over all rounds. */
  attempts: number;
  /** Attempts made before the current round (a redelivery starts a new round). */
  roundStartAttempts?: number;
  nextAttemptAt?: string;
  lastAttemptAt?: string;
  lastStatusCode?: number;
  lastError?: string;
  deliveredAt?: string;
  history: DeliveryAttempt[];
  redeliveries?: number;
  deferrals?: number;
  createdAt: string;
  updatedAt: string;
}
