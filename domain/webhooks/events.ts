/**
 * Outbound events: what the outside world hears about a change. Built from one stream record of
 * a card, a record or a child edge (pure: no I/O), with an id derived from the stream record, so
 * a replayed or retried record yields the very same event. One change gives one event (a move
 * that also changes values gives a card.moved and a card.updated); writes made by propagation
 * give none, since they are consequences of a change that already had its event.
 */
import { createHash } from 'node:crypto';
import { actorOf, canonical, itemChanges } from '../activity/activity';
import { ENTITY } from '../kernel/keys';

export const EVENT_TYPES = [
  'card.created',
  'card.moved',
  'card.updated',
  'card.deleted',
  'record.created',
  'record.updated',
  'record.deleted',
  'connection.created',
  'connection.deleted',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Subscriptions may name a type or a whole family. */
export const EVENT_TYPE_WILDCARDS = ['card.*', 'record.*', 'connection.*'] as const;
export type EventTypePattern = EventType | (typeof EVENT_TYPE_WILDCARDS)[number];

export interface CardflowEvent {
  /** `evt_` + 26 characters: sortable by occurredAt, derived from the stream record. */
  id: string;
  type: EventType;
  occurredAt: string;
  orgId: string;
  data: Record<string, unknown>;
}

/** What event building needs from one stream record (images already unmarshalled). */
export interface ChangeRecord {
  /** The stream record's eventID: unique per change, the same on every replay of it. */
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** The stream record's ApproximateCreationDateTime (epoch seconds): the time of a deletion. */
  approximateCreationTime?: number;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

/** Marker on items written by propagation (domain/propagation/stream.ts writes it, user writes remove it). */
const PROPAGATION = 'propagation';

export function matchesSubscription(patterns: readonly string[], type: EventType): boolean {
  const family = `${type.split('.')[0]}.*`;
  return patterns.some((p) => p === type || p === family);
}

// ——— ids ———

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeTime(ms: number): string {
  let out = '';
  let rest = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeBits(bytes: Buffer, chars: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += CROCKFORD[(buffer >> (bits - 5)) & 31]!;
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
    if (out.length === chars) break;
  }
  return out;
}

/**
 * A ULID-shaped id: the time the change happened, then 80 bits of a hash of the stream record's
 * eventID and the event type. Replays give the same id; ids sort by time.
 */
export function eventId(streamEventId: string, type: EventType, occurredAtMs: number): string {
  const hash = createHash('sha256').update(streamEventId).update('\u0000').update(type).digest();
  return `evt_${encodeTime(occurredAtMs)}${encodeBits(hash, 16)}`;
}

export const EVENT_ID = /^evt_[0-9A-HJKMNP-TV-Z]{26}$/;

// ——— public views ———

type Item = Record<string, unknown>;

function pick(item: Item, names: readonly string[]): Item {
  const out: Item = {};
  for (const name of names) if (item[name] !== undefined) out[name] = item[name];
  return out;
}

const CARD_FIELDS = ['id', 'pipeId', 'phaseId', 'title', 'values', 'finishedAt', 'phaseHistory', 'version', 'createdBy', 'createdAt', 'updatedAt'] as const;
const RECORD_FIELDS = ['id', 'databaseId', 'title', 'values', 'version', 'createdBy', 'createdAt', 'updatedAt'] as const;

/** A card as the API shows it (no keys, no internal markers). */
export function cardPublicView(item: Item): Item {
  return { ...pick(item, CARD_FIELDS), finished: item['finishedAt'] !== undefined };
}

export function recordPublicView(item: Item): Item {
  return pick(item, RECORD_FIELDS);
}

// ——— building ———

/** Ids of the fields whose values differ between two images, sorted. */
export function changedFieldIds(before: Item | undefined, after: Item | undefined): string[] {
  const a = (before ?? {}) as Item;
  const b = (after ?? {}) as Item;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((id) => canonical(a[id]) !== canonical(b[id])).sort();
}

const madeByPropagation = (image: Item | undefined) => (image?.['changedBy'] as { source?: string } | undefined)?.source === PROPAGATION;

function stampOf(image: Item | undefined, attribute: string): number | undefined {
  const stamp = image?.[attribute];
  const ms = typeof stamp === 'string' ? Date.parse(stamp) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

const approximateTime = (record: ChangeRecord) => (record.approximateCreationTime !== undefined ? record.approximateCreationTime * 1000 : undefined);

/** When the change happened: the item's own timestamp, deterministic under replay. */
function timeOf(record: ChangeRecord, image: Item | undefined, attribute: string): number {
  return stampOf(image, attribute) ?? approximateTime(record) ?? Date.now();
}

/**
 * A deletion carries no timestamp of its own: the stream record's approximate creation time
 * (seconds in AWS, coarser in some emulators), but never before the last change the old image
 * records.
 */
function deletionTime(record: ChangeRecord, before: Item, attribute: string): number {
  const last = stampOf(before, attribute);
  const approximate = approximateTime(record);
  if (last === undefined) return approximate ?? Date.now();
  return approximate === undefined ? last : Math.max(last, approximate);
}

const typeOfId = (id: string) => (id.startsWith('rec_') ? 'record' : 'card');

/** The events one stream record gives: none, one, or (a move with value changes) two. */
export function eventsFromChange(record: ChangeRecord): CardflowEvent[] {
  const { before, after, eventName } = record;
  const image = after ?? before;
  const entity = image?.['entity'];
  const orgId = image?.['orgId'];
  if (typeof orgId !== 'string') return [];
  const make = (type: EventType, occurredAtMs: number, data: Item): CardflowEvent => ({
    id: eventId(record.eventID, type, occurredAtMs),
    type,
    occurredAt: new Date(occurredAtMs).toISOString(),
    orgId,
    data,
  });

  if (entity === ENTITY.card || entity === ENTITY.record) {
    const isCard = entity === ENTITY.card;
    const noun = isCard ? 'card' : 'record';
    const view = isCard ? cardPublicView : recordPublicView;
    // The same actor and change description as the item's activity entry (domain/activity/activity.ts).
    if (eventName === 'INSERT' && after) return [make(`${noun}.created`, timeOf(record, after, 'createdAt'), { [noun]: view(after), actor: actorOf(after) })];
    if (eventName === 'REMOVE' && before) return [make(`${noun}.deleted`, deletionTime(record, before, 'updatedAt'), { [noun]: view(before) })];
    if (eventName !== 'MODIFY' || !before || !after || madeByPropagation(after)) return [];
    const at = timeOf(record, after, 'updatedAt');
    const actor = actorOf(after);
    const changes = itemChanges(before, after);
    const events: CardflowEvent[] = [];
    if (isCard && before['phaseId'] !== after['phaseId']) {
      events.push(
        make('card.moved', at, {
          card: view(after),
          fromPhaseId: before['phaseId'],
          toPhaseId: after['phaseId'],
          actor,
          changes: changes.filter((c) => c.type === 'phase' || c.type === 'finished' || c.type === 'reopened'),
        }),
      );
    }
    const fields = changedFieldIds(before['values'] as Item | undefined, after['values'] as Item | undefined);
    const titleChanged = before['title'] !== after['title'];
    if (fields.length || titleChanged) {
      events.push(
        make(`${noun}.updated`, at, {
          [noun]: view(after),
          changedFieldIds: fields,
          ...(titleChanged ? { previousTitle: before['title'] } : {}),
          actor,
          changes: changes.filter((c) => c.type === 'value' || c.type === 'title'),
        }),
      );
    }
    return events;
  }

  if (entity === ENTITY.childEdge && (eventName === 'INSERT' || eventName === 'REMOVE')) {
    const edge = (after ?? before)!;
    const parentId = edge['parentId'] as string;
    const childId = edge['childId'] as string;
    const data = {
      connectionId: edge['connectionId'],
      parentId,
      parentType: typeOfId(parentId),
      childId,
      childType: typeOfId(childId),
      ...(edge['summary'] ? { child: edge['summary'] } : {}),
      actor: eventName === 'INSERT' ? actorOf(after) : null,
    };
    return eventName === 'INSERT'
      ? [make('connection.created', timeOf(record, after, 'connectedAt'), data)]
      : [make('connection.deleted', deletionTime(record, edge, 'connectedAt'), data)];
  }
  return [];
}

/** Events larger than this are sent without their item's values (receivers read it from the API). */
export const MAX_EVENT_BYTES = 192 * 1024;

/**
 * Keeps an event within what a delivery item and an EventBridge entry (256 KB) can hold: an
 * oversized card or record loses its values and is marked truncated.
 */
export function fitEvent(event: CardflowEvent, maxBytes = MAX_EVENT_BYTES): CardflowEvent {
  if (Buffer.byteLength(JSON.stringify(event)) <= maxBytes) return event;
  const data: Item = { ...event.data, truncated: true };
  for (const noun of ['card', 'record'] as const) {
    const item = data[noun] as Item | undefined;
    if (item) data[noun] = { ...item, values: {}, ...(item['phaseHistory'] ? { phaseHistory: [] } : {}) };
  }
  return { ...event, data };
}
