/** Cards as the domain sees them (no keys, no storage concerns). */
import type { Values } from '../fields/model';
import type { AutomationMark } from '../kernel/model';

export interface PhaseVisit {
  phaseId: string;
  enteredAt: string;
  leftAt?: string;
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
