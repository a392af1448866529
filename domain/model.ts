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
}

export interface PhaseVisit {
  phaseId: string;
  enteredAt: string;
  leftAt?: string;
}

export type Values = Record<string, FieldValue>;

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
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
