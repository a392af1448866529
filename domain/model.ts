/** The entities as the domain sees them (no keys, no storage concerns). */
import type { FieldType, FieldValue } from './fields';

export interface Field {
  id: string;
  /** The pipe or database the field belongs to. */
  containerId: string;
  /** Pipe fields: the phase, or null for the start form. Database fields: undefined. */
  phaseId?: string | null;
  label: string;
  type: FieldType;
  description?: string;
  required: boolean;
  options?: string[];
  /** connection fields: the connection whose children are the field's value. */
  connectionId?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Phase {
  id: string;
  pipeId: string;
  name: string;
  description?: string;
  done: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Pipe {
  id: string;
  name: string;
  description?: string;
  phaseOrder: string[];
  titleFieldId?: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface PipeDefinition {
  pipe: Pipe;
  phases: Phase[];
  fields: Field[];
  /** Connections where this pipe is the parent, and where it is the child. */
  outgoing: Connection[];
  incoming: Connection[];
}

export interface Database {
  id: string;
  name: string;
  description?: string;
  titleFieldId?: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface DatabaseDefinition {
  database: Database;
  fields: Field[];
  outgoing: Connection[];
  incoming: Connection[];
}

export type ContainerType = 'pipe' | 'database';
export type ItemType = 'card' | 'record';

export interface ContainerRef {
  type: ContainerType;
  id: string;
}

export interface FieldMapEntry {
  childFieldId: string;
  /** Copy from this parent field … */
  parentFieldId?: string;
  /** … or set this fixed value. */
  value?: unknown;
  /** The child field follows later changes of the parent field, and is read-only on the child. */
  sync: boolean;
}

export interface ConnectionRules {
  childRequiredToMove: boolean;
  childRequiredToFinish: boolean;
  childrenFinishedToMove: boolean;
  childrenFinishedToFinish: boolean;
}

export type OnParentDelete = 'unlink' | 'block' | 'cascade';

export interface Connection {
  id: string;
  name: string;
  parent: ContainerRef;
  child: ContainerRef;
  entries: 'single' | 'multiple';
  /** multiple entries: at most this many children per parent (none: unlimited). */
  maxChildren?: number;
  canCreate: boolean;
  canConnectExisting: boolean;
  fieldMap: FieldMapEntry[];
  rules: ConnectionRules;
  onParentDelete: OnParentDelete;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What an edge holds about the item at its other end: enough for a card header. */
export interface ItemSummary {
  id: string;
  type: ItemType;
  /** The pipe or database of the item. */
  containerId: string;
  title: string;
  phaseId?: string;
  finished: boolean;
  /** The item version the summary was taken at; older refreshes never overwrite newer ones. */
  version: number;
}

export interface Edge {
  connectionId: string;
  parentId: string;
  childId: string;
  /** The summary of the far end, as seen from the partition the edge lives in. */
  summary: ItemSummary;
  connectedAt: string;
}

export interface PhaseVisit {
  phaseId: string;
  enteredAt: string;
  leftAt?: string;
}

export type Values = Record<string, FieldValue>;

/** Written on an item by an automation's write (by the system, from the runner's principal). */
export interface AutomationMark {
  source: 'automation';
  automationId: string;
  depth: number;
  chainId: string;
}

export interface Card {
  id: string;
  pipeId: string;
  phaseId: string;
  title: string;
  values: Values;
  finishedAt?: string;
  phaseHistory: PhaseVisit[];
  version: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** Only on writes: who made this change when it was an automation (never read back into views). */
  changedBy?: AutomationMark;
}

export interface DbRecord {
  id: string;
  databaseId: string;
  title: string;
  values: Values;
  version: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  changedBy?: AutomationMark;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
