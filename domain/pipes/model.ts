/** Pipes and their phases as the domain sees them (no keys, no storage concerns). */
import type { Connection } from '../connections/model';
import type { Field } from '../fields/model';

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
