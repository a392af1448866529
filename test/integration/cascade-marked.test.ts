/**
 * Items a cascade job has marked read as gone to writers as well as readers: a PATCH or a move
 * that would change nothing (an empty values patch, a move to the phase the card is in) writes
 * nothing, so no condition of the table refuses it; it must answer 404 from its read, as a GET
 * does, not 200 with the card being deleted.
 */
import { describe, expect, it } from 'vitest';
import { cascadeFaults, cascadeSettings } from '../../domain/connections/cascade';
import { client } from '../support/api';
import { graphCheckedOrgs, ok } from '../support/graph';
import { cascadeStreamHarness } from '../support/stream';

type Api = ReturnType<typeof client>;

const stream = cascadeStreamHarness();

const newOrg = graphCheckedOrgs();

/** What writers that change nothing answer for a card: [empty PATCH, move to its own phase, move elsewhere]. */
async function noOpWrites(api: Api, cardId: string, phaseId: string, otherPhaseId: string) {
  return [
    (await api('updateCard', { params: { cardId }, body: { values: {} } })).status,
    (await api('moveCard', { params: { cardId }, body: { phaseId } })).status,
    (await api('moveCard', { params: { cardId }, body: { phaseId: otherPhaseId } })).status,
  ];
}

describe('an item a cascade job is deleting', () => {
  it('answers 404 to a PATCH or a move that would write nothing, as to a GET', async () => {
    cascadeSettings.syncMaxWrites = 0;
    const orgId = newOrg('cascade-marked');
    const api = client(orgId);
    const body = { startFormFields: [{ label: 'Title', type: 'short_text', isTitle: true }], phases: [{ name: 'Open' }, { name: 'Doing' }] };
    const P = await ok(api('createPipe', { body: { name: 'Parents', ...body } }));
    const K = await ok(api('createPipe', { body: { name: 'Kids', ...body } }));
    const PK = await ok(
      api('createConnection', {
        body: { name: 'Kids', parent: { type: 'pipe', id: P.id }, child: { type: 'pipe', id: K.id }, entries: 'multiple', onParentDelete: 'cascade' },
      }),
    );
    const root = (await ok(api('createCard', { params: { pipeId: P.id }, body: { title: 'root' } }))).id as string;
    const kid = (await ok(api('addCardChild', { params: { cardId: root }, body: { connectionId: PK.id, create: { title: 'kid' } } }))).id as string;
    const [open, doing] = P.phases.map((p: any) => p.id);
    const [kidOpen, kidDoing] = K.phases.map((p: any) => p.id);

    // Every item is marked once the job deletes: the kid's no-op writes are tried at that point.
    let kidAnswers: number[] | undefined;
    cascadeFaults.beforeWrite = async (what) => {
      if (kidAnswers || !(what.startsWith('edges:') || what.startsWith('meta:'))) return;
      kidAnswers = [];
      kidAnswers = [(await api('getCard', { params: { cardId: kid } })).status, ...(await noOpWrites(api, kid, kidOpen, kidDoing))];
    };

    const accepted = await api('deleteCard', { params: { cardId: root } });
    expect(accepted.status).toBe(202);
    // The job's own transaction marked the root.
    expect((await api('getCard', { params: { cardId: root } })).status).toBe(404);
    expect(await noOpWrites(api, root, open, doing)).toEqual([404, 404, 404]);

    await stream().poller.drain();
    expect(kidAnswers).toEqual([404, 404, 404, 404]);
    expect(await ok(api('getJob', { params: { jobId: accepted.body.id } }), 200)).toMatchObject({ status: 'succeeded', deleted: 2 });
    expect(await noOpWrites(api, root, open, doing)).toEqual([404, 404, 404]);
  }, 120_000);
});
