/** A field as the domain sees it, and the values an item holds. */
import type { FieldType, FieldValue } from './field-types';

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

export type Values = Record<string, FieldValue>;
