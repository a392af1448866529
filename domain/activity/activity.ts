/**
 * Activity and audit: what changed, who changed it and when, derived from one stream record's
 * old and new images (pure: no I/O). Because the entries come from the table's stream, no write
 * path can forget them; because each entry's key is derived from the stream record, a replayed
 * or retried record rewrites the same entry instead of adding one.
 *
 * - Item activity (cards and records): created, updated (values, title, phase, finished or
 *   reopened, each with before and after), deleted (from the tombstone the delete writes), and
 *   child or parent connected or disconnected (from the edge items, with the other item's
 *   summary). A child created from its parent shows `created` and `parentConnected` at the same
 *   instant. One entry per stream record and item: one write per change.
 * - Audit (admins): created, updated and deleted pipes, phases, fields, databases, connections,
 *   automations, webhooks and API tokens, with the attributes that changed before and after.
 *
 * The actor comes from the images, never from a claim: the system mark `changedBy` (propagation
 * or automation, written by the system alone), else `lastActor` (written by the store for the
 * verified caller, see domain/kernel/actor.ts). A deletion of an edge or of a setup item leaves no
 * image of its own, so its actor is unknown (null); a card's or record's deletion carries its
 * actor on the tombstone.
 */
import { createHash } from 'node:crypto';
import type { Actor } from '../kernel/actor';
import { LAST_ACTOR } from '../kernel/actor';
import { ENTITY, STORE_ATTRIBUTES } from '../kernel/keys';

type Item = Record<string, unknown>;

/** Who did it, as an activity entry shows it; null when the change left no trace of its actor. */
export type ActivityActor = Actor | null;

export type ItemChange =
  | { type: 'value'; fieldId: string; before: unknown; after: unknown }
  | { type: 'title'; before: string; after: string }
  | { type: 'phase'; from: string; to: string }
  | { type: 'finished' }
  | { type: 'reopened' };

export type ActivityKind = 'created' | 'updated' | 'deleted' | 'childConnected' | 'childDisconnected' | 'parentConnected' | 'parentDisconnected';

export interface RelatedItem {
  connectionId: string;
  /** The other item, as the edge held it (id, type, title, phase, finished). */
  item: Item;
}

export interface ActivityEntry {
  /** `act_` + 24 hex characters, derived from the stream record and the item. */
  id: string;
  orgId: string;
  itemId: string;
  itemType: 'card' | 'record';
  occurredAt: string;
  actor: ActivityActor;
  kind: ActivityKind;
  changes: ItemChange[];
  related?: RelatedItem;
  /** On `deleted`: the item's title when it was deleted. */
  title?: string;
}

export const AUDITED_ENTITIES = {
  [ENTITY.pipe]: 'pipe',
  [ENTITY.phase]: 'phase',
  [ENTITY.field]: 'field',
  [ENTITY.database]: 'database',
  [ENTITY.connection]: 'connection',
  [ENTITY.automation]: 'automation',
  [ENTITY.webhook]: 'webhook',
  [ENTITY.apiToken]: 'apiToken',
  [ENTITY.orgSettings]: 'settings',
} as const;

export type AuditedEntity = (typeof AUDITED_ENTITIES)[keyof typeof AUDITED_ENTITIES];
export const AUDITED_ENTITY_TYPES = Object.values(AUDITED_ENTITIES) as AuditedEntity[];

export interface AuditEntry {
  /** `aud_` + 24 hex characters, derived from the stream record. */
  id: string;
  orgId: string;
  occurredAt: string;
  actor: ActivityActor;
  entityType: AuditedEntity;
  entityId: string;
  action: 'created' | 'updated' | 'deleted';
  /** The pipe or database the entity belongs to, when it belongs to one. */
  containerId?: string;
  /** The attributes that changed: all of them on create (after) and delete (before). */
  before?: Item;
  after?: Item;
}

/** What derivation needs from one stream record (images already unmarshalled). */
export interface ActivitySource {
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** Epoch seconds: the only time a deletion carries. */
  approximateCreationTime?: number;
  before?: Item;
  after?: Item;
}

/** Long texts are kept in activity this long; the item itself has the full value. */
export const MAX_ACTIVITY_TEXT = 280;

/** Attributes that are the store's, not the user's: never part of an audit diff. */
const INTERNAL = new Set<string>([
  ...STORE_ATTRIBUTES,
  'version',
  'updatedAt',
  'createdAt',
  'createdBy',
  'expiresAt',
  // secrets and what only proves them, never shown
  'secret',
  'previousSecret',
  'secretHash',
  'secretHint',
  // runtime state the system keeps on setup items, not a change of setup
  'consecutiveFailures',
  'lastFailureAt',
  'lastUsedAt',
  'runCount',
  'lastRunAt',
]);

const hashId = (prefix: string, ...parts: string[]) => `${prefix}${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24)}`;

/** Canonical JSON (object keys sorted) so that equal values compare equal. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as Item)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Item)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Shortens long texts (anywhere in a value) so an entry stays small. */
export function shorten(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_ACTIVITY_TEXT ? `${value.slice(0, MAX_ACTIVITY_TEXT - 1)}…` : value;
  if (Array.isArray(value)) return value.map(shorten);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value as Item).map(([k, v]) => [k, shorten(v)]));
  return value;
}

/** The actor of the write that produced `image`. */
export function actorOf(image: Item | undefined): ActivityActor {
  if (!image) return null;
  const mark = image['changedBy'] as { source?: string; automationId?: string; parentId?: string; connectionId?: string } | undefined;
  if (mark?.source === 'propagation' && mark.parentId) {
    return { type: 'propagation', parentId: mark.parentId, ...(mark.connectionId ? { connectionId: mark.connectionId } : {}) };
  }
  if (mark?.source === 'automation' && mark.automationId) return { type: 'automation', id: mark.automationId };
  const last = image[LAST_ACTOR] as Actor | undefined;
  if (last && typeof last === 'object' && typeof last.type === 'string') return last;
  return null;
}

const stamp = (image: Item | undefined, attribute: string): string | undefined => {
  const v = image?.[attribute];
  return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(Date.parse(v)).toISOString() : undefined;
};

/** A deletion's time: the stream record's (seconds), never before the last change it removes. */
function deletionTime(source: ActivitySource, before: Item | undefined, attribute: string): string {
  const approximate = source.approximateCreationTime !== undefined ? source.approximateCreationTime * 1000 : undefined;
  const last = stamp(before, attribute);
  const ms = Math.max(last ? Date.parse(last) : 0, approximate ?? 0) || Date.now();
  return new Date(ms).toISOString();
}

const typeOfId = (id: string): 'card' | 'record' => (id.startsWith('rec_') ? 'record' : 'card');

/** What changed between two images of a card or record (webhook events carry the same list). */
export function itemChanges(before: Item, after: Item): ItemChange[] {
  const changes: ItemChange[] = [];
  if (before['title'] !== after['title']) changes.push({ type: 'title', before: shorten(before['title']) as string, after: shorten(after['title']) as string });
  if (before['phaseId'] !== after['phaseId'] && typeof after['phaseId'] === 'string') {
    changes.push({ type: 'phase', from: before['phaseId'] as string, to: after['phaseId'] });
  }
  const a = (before['values'] ?? {}) as Item;
  const b = (after['values'] ?? {}) as Item;
  for (const fieldId of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (canonical(a[fieldId]) !== canonical(b[fieldId])) {
      changes.push({ type: 'value', fieldId, before: shorten(a[fieldId] ?? null), after: shorten(b[fieldId] ?? null) });
    }
  }
  if (!before['finishedAt'] && after['finishedAt']) changes.push({ type: 'finished' });
  if (before['finishedAt'] && !after['finishedAt']) changes.push({ type: 'reopened' });
  return changes;
}

/** The activity entries one stream record gives: none, one, or (an edge) one per side of it. */
export function activityFromChange(source: ActivitySource): ActivityEntry[] {
  const { before, after, eventName } = source;
  const image = after ?? before;
  const entity = image?.['entity'];
  const orgId = image?.['orgId'];
  if (typeof orgId !== 'string') return [];
  const entry = (itemId: string, fields: Omit<ActivityEntry, 'id' | 'orgId' | 'itemId' | 'itemType'>): ActivityEntry => ({
    id: hashId('act_', source.eventID, itemId),
    orgId,
    itemId,
    itemType: typeOfId(itemId),
    ...fields,
  });

  if (entity === ENTITY.card || entity === ENTITY.record) {
    const id = image!['id'] as string;
    if (eventName === 'INSERT' && after) {
      const at = stamp(after, 'createdAt') ?? deletionTime(source, undefined, 'createdAt');
      // The values it was created with (its title follows from them, or from the request).
      const changes = itemChanges({}, after).filter((c) => c.type === 'value' || c.type === 'finished');
      return [entry(id, { occurredAt: at, actor: actorOf(after) ?? userActor(after['createdBy']), kind: 'created', changes })];
    }
    if (eventName === 'MODIFY' && before && after) {
      const changes = itemChanges(before, after);
      // Writes that change nothing a user sees (counts, summaries, versions) are not activity.
      if (changes.length === 0) return [];
      return [
        entry(id, { occurredAt: stamp(after, 'updatedAt') ?? deletionTime(source, before, 'updatedAt'), actor: actorOf(after), kind: 'updated', changes }),
      ];
    }
    // A REMOVE of the item itself: its tombstone (written in the same transaction) tells it, with the actor.
    return [];
  }

  if (entity === ENTITY.tombstone && eventName === 'INSERT' && after) {
    const id = after['id'] as string;
    const occurredAt = stamp(after, 'updatedAt') ?? deletionTime(source, undefined, 'updatedAt');
    const title = typeof after['title'] === 'string' ? { title: shorten(after['title']) as string } : {};
    return [entry(id, { occurredAt, actor: actorOf(after), kind: 'deleted', changes: [], ...title })];
  }

  if ((entity === ENTITY.childEdge || entity === ENTITY.parentEdge) && (eventName === 'INSERT' || eventName === 'REMOVE')) {
    const edge = image!;
    const isChildEdge = entity === ENTITY.childEdge;
    // A child edge lives with the parent and holds the child's summary; a parent edge the reverse.
    const ownerId = (isChildEdge ? edge['parentId'] : edge['childId']) as string;
    const inserted = eventName === 'INSERT';
    const kind: ActivityKind = isChildEdge ? (inserted ? 'childConnected' : 'childDisconnected') : inserted ? 'parentConnected' : 'parentDisconnected';
    return [
      entry(ownerId, {
        occurredAt: inserted ? (stamp(edge, 'connectedAt') ?? deletionTime(source, undefined, 'connectedAt')) : deletionTime(source, edge, 'connectedAt'),
        actor: inserted ? actorOf(after) : null,
        kind,
        changes: [],
        related: {
          connectionId: edge['connectionId'] as string,
          item: (edge['summary'] as Item | undefined) ?? { id: isChildEdge ? edge['childId'] : edge['parentId'] },
        },
      }),
    ];
  }
  return [];
}

function userActor(createdBy: unknown): ActivityActor {
  return typeof createdBy === 'string' && createdBy ? { type: 'user', id: createdBy } : null;
}

function publicAttributes(image: Item): Item {
  return Object.fromEntries(
    Object.entries(image)
      .filter(([k]) => !INTERNAL.has(k))
      .map(([k, v]) => [k, shorten(v)]),
  );
}

/** The audit entry of one stream record of a setup item, or none (other entities, or nothing visible changed). */
export function auditFromChange(source: ActivitySource): AuditEntry | undefined {
  const { before, after, eventName } = source;
  const image = after ?? before;
  const entityType = AUDITED_ENTITIES[image?.['entity'] as keyof typeof AUDITED_ENTITIES];
  const orgId = image?.['orgId'];
  if (!entityType || typeof orgId !== 'string' || typeof image!['id'] !== 'string') return undefined;
  const containerId = (image!['pipeId'] ?? image!['databaseId'] ?? image!['containerId']) as string | undefined;
  const base = {
    id: hashId('aud_', source.eventID),
    orgId,
    entityType,
    entityId: image!['id'] as string,
    ...(typeof containerId === 'string' && containerId !== image!['id'] ? { containerId } : {}),
  };
  if (eventName === 'INSERT' && after) {
    return {
      ...base,
      occurredAt: stamp(after, 'createdAt') ?? stamp(after, 'updatedAt') ?? deletionTime(source, undefined, 'createdAt'),
      actor: actorOf(after) ?? userActor(after['createdBy']),
      action: 'created',
      after: publicAttributes(after),
    };
  }
  if (eventName === 'REMOVE' && before) {
    return { ...base, occurredAt: deletionTime(source, before, 'updatedAt'), actor: null, action: 'deleted', before: publicAttributes(before) };
  }
  if (eventName === 'MODIFY' && before && after) {
    const a = publicAttributes(before);
    const b = publicAttributes(after);
    const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => canonical(a[k]) !== canonical(b[k])).sort();
    if (changed.length === 0) return undefined;
    const pick = (o: Item) => Object.fromEntries(changed.filter((k) => k in o).map((k) => [k, o[k]]));
    return {
      ...base,
      occurredAt: stamp(after, 'updatedAt') ?? deletionTime(source, before, 'updatedAt'),
      actor: actorOf(after),
      action: 'updated',
      before: pick(a),
      after: pick(b),
    };
  }
  return undefined;
}
