/** Automations as the domain sees them: what triggers one, what it does, and its runs. */

export type AutomationTrigger =
  | { type: 'card.created' }
  | { type: 'card.entered_phase'; phaseId: string }
  | { type: 'field.changed'; fieldId: string }
  | { type: 'children.all_finished'; connectionId: string };

export type AutomationAction =
  | { type: 'create_connected_card'; connectionId: string }
  | { type: 'move_card'; phaseId: string }
  | { type: 'set_field'; fieldId: string; value?: unknown };

export interface Automation {
  id: string;
  name: string;
  pipeId: string;
  enabled: boolean;
  trigger: AutomationTrigger;
  action: AutomationAction;
  version: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface CreateAutomationInput {
  name: string;
  pipeId: string;
  enabled?: boolean | undefined;
  trigger: AutomationTrigger;
  action: AutomationAction;
}

export interface UpdateAutomationInput {
  name?: string | undefined;
  enabled?: boolean | undefined;
  trigger?: AutomationTrigger | undefined;
  action?: AutomationAction | undefined;
}

export type RunStatus = 'running' | 'done' | 'failed' | 'skipped';

/** One automation's run for one trigger: the replay guard, and the log of what happened. */
export interface AutomationRun {
  automationId: string;
  /** What the run fired on (see automation-run.ts): unique per automation. */
  triggerKey: string;
  trigger: AutomationTrigger['type'];
  /** The card the action applies to: the triggering card, or the parent for children.all_finished. */
  subjectId: string;
  status: RunStatus;
  /** Attempts that ended (done, failed or skipped). */
  attempts: number;
  /** create_connected_card: the child's id, fixed when the run is first claimed. */
  childId?: string;
  error?: { code: string; message: string; at: string };
  createdAt: string;
  updatedAt: string;
}
