/** The rules a connection puts on its parent's moves: what a move of the parent card breaks. */
import type { UseCaseContext } from '../kernel/context';
import type { FieldProblem } from '../kernel/errors';
import type { Card } from '../cards/model';
import type { Connection } from './model';
import type { ItemWithParents } from '../items/store';

/**
 * The connection rules a move breaks (Pipefy's four), as problems that name the connection and
 * children. "A child exists" reads the count item; "children finished" reads the child edges of
 * that one connection (only when the rule applies and children exist).
 */
export async function brokenMoveRules(ctx: UseCaseContext, core: ItemWithParents<Card>, outgoing: Connection[], finishing: boolean): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = [];
  for (const connection of outgoing) {
    const { rules } = connection;
    const needChild = rules.childRequiredToMove || (finishing && rules.childRequiredToFinish);
    const needFinished = rules.childrenFinishedToMove || (finishing && rules.childrenFinishedToFinish);
    if (!needChild && !needFinished) continue;
    const count = core.counts[connection.id] ?? 0;
    const path = `connections.${connection.id}`;
    if (needChild && count === 0) {
      problems.push({
        path,
        message: `${connection.name}: a child must exist before this card can ${rules.childRequiredToMove ? 'move on' : 'finish'}`,
        code: 'connection.childRequired',
      });
    }
    if (needFinished && count > 0) {
      const open = await ctx.store.connections.unfinishedChildren(ctx.principal.orgId, 'card', core.item.id, connection.id);
      if (open.length) {
        problems.push({
          path,
          message: `${connection.name}: ${open.length} child${open.length === 1 ? ' is' : 'ren are'} not finished: ${open
            .slice(0, 10)
            .map((e) => `${e.title} (${e.childId})`)
            .join(', ')}${open.length > 10 ? ', …' : ''}`,
          code: 'connection.childrenUnfinished',
        });
      }
    }
  }
  return problems;
}
