/**
 * Cascading deletes as one decision: refused before the first write when any policy downstream
 * blocks, complete otherwise.
 */
import { describe, expect, it } from 'vitest';
import { client } from '../support/api';
import { expectGraphValid, graphCheckedOrgs, ok } from '../support/graph';
import { snapshotOrg } from '../support/table';

type Api = ReturnType<typeof client>;

const trackedOrg = graphCheckedOrgs();

/** Pipes A → B (policy ab) and B → C (policy bc), with cards a → b → c. */
async function chain(api: Api, ab: string, bc: string) {
  const pipe = async (name: string) => ok(api('createPipe', { body: { name } }));
  const [A, B, C] = [await pipe('A'), await pipe('B'), await pipe('C')];
  const connect = (parent: any, child: any, policy: string) =>
    ok(
      api('createConnection', {
        body: {
          name: `${parent.name}→${child.name}`,
          parent: { type: 'pipe', id: parent.id },
          child: { type: 'pipe', id: child.id },
          entries: 'multiple',
          onParentDelete: policy,
        },
      }),
    );
  const AB = await connect(A, B, ab);
  const BC = await connect(B, C, bc);
  const a = await ok(api('createCard', { params: { pipeId: A.id }, body: { title: 'a' } }));
  const b = await ok(api('addCardChild', { params: { cardId: a.id }, body: { connectionId: AB.id, create: { title: 'b' } } }));
  const c = await ok(api('addCardChild', { params: { cardId: b.id }, body: { connectionId: BC.id, create: { title: 'c' } } }));
  return { A, B, C, AB, BC, a, b, c };
}

describe('cascading deletes', () => {
  it('A→B cascade and B→C block: DELETE a is refused with 409 and nothing is written', async () => {
    const orgId = trackedOrg('blocked');
    const api = client(orgId);
    const { a, b, c, BC } = await chain(api, 'cascade', 'block');
    const before = await snapshotOrg(orgId);
    const refused = await api('deleteCard', { params: { cardId: a.id } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: 'connection.deleteBlocked',
      connectionId: BC.id,
      childCount: 1,
      blockedItemId: b.id,
      cascadePath: [a.id, b.id],
    });
    expect(await snapshotOrg(orgId)).toEqual(before);
    for (const id of [a.id, b.id, c.id]) expect((await api('getCard', { params: { cardId: id } })).status).toBe(200);
  });

  it('A→B cascade and B→C unlink: DELETE a removes a and b, and c survives without its parent', async () => {
    const orgId = trackedOrg('unlinked');
    const api = client(orgId);
    const { a, b, c } = await chain(api, 'cascade', 'unlink');
    expect((await api('deleteCard', { params: { cardId: a.id } })).status).toBe(204);
    expect((await api('getCard', { params: { cardId: a.id } })).status).toBe(404);
    expect((await api('getCard', { params: { cardId: b.id } })).status).toBe(404);
    const survivor = await ok(api('getCard', { params: { cardId: c.id } }), 200);
    expect(survivor.parents).toEqual([]);
    await expectGraphValid(orgId);
  });
});
