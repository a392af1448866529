/** Connections, their rules and edges as the domain sees them (no keys, no storage concerns). */
import type { ContainerRef, ItemType } from '../kernel/model';

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
