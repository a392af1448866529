/** References every capability shares: kinds of containers and items, pages, the automation mark. */

export type ContainerType = 'pipe' | 'database';

export type ItemType = 'card' | 'record';

export interface ContainerRef {
  type: ContainerType;
  id: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Written on an item by an automation's write (by the system, from the runner's principal). */
export interface AutomationMark {
  source: 'automation';
  automationId: string;
  depth: number;
  chainId: string;
}
