/** Databases and their records as the domain sees them (no keys, no storage concerns). */
import type { Connection } from '../connections/model';
import type { Field, Values } from '../fields/model';
import type { AutomationMark } from '../kernel/model';

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
