import type { Principal } from './auth';
import type { Store } from './store';

/** What every use case receives: who calls, the repository, and the clock. */
export interface UseCaseContext {
  principal: Principal;
  store: Store;
  now?: () => Date;
}

export const nowIso = (ctx: UseCaseContext) => (ctx.now ? ctx.now() : new Date()).toISOString();
