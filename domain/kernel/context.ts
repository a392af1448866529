import type { Principal } from './auth';
import type { AutomationMark } from './model';
import type { Store } from '../store';

/** What every use case receives: who calls, the repository, and the clock. */
export interface UseCaseContext {
  principal: Principal;
  store: Store;
  now?: () => Date;
}

/** The mark an automation's write carries on the item; undefined for everyone else's writes. */
export function automationMark(ctx: UseCaseContext): AutomationMark | undefined {
  const actor = ctx.principal.automation;
  return actor ? { source: 'automation', automationId: actor.automationId, depth: actor.depth, chainId: actor.chainId } : undefined;
}

export const nowIso = (ctx: UseCaseContext) => (ctx.now ? ctx.now() : new Date()).toISOString();
