import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTOMATION_LIMITS, cardTriggerKey, MAX_CHAIN_DEPTH } from '../../domain/automations/runs';
import { AutomationStore } from '../../domain/automations/store';
import { documentClient } from '../../domain/kernel/client';
import { keys } from '../../domain/kernel/keys';
import { client, fakeContext, newOrg } from '../support/api';
import { fieldIds } from '../support/fixtures';
import { expectGraphValid, graphCheckedOrgs } from '../support/graph';
import { startStreamHarness, type StreamHarness } from '../support/stream';
import { snapshotOrg } from '../support/table';

// The stream harness gives this file a private table and poller; it must start before any handler loads.
let stream: StreamHarness;
beforeAll(async () => {
  stream = await startStreamHarness();
});
afterAll(async () => {
  await stream?.stop();
});

// Every scenario ends with the graph invariants checked on each organization it used.
const trackedOrg = graphCheckedOrgs();

type Api = ReturnType<typeof client>;

// Every card here is written with at least one value: DynamoDB Local's stream renders an empty map
// as `{}` (DynamoDB sends {"M":{}}), which the processor cannot unmarshall (see the report).

async function created(api: Api, route: Parameters<Api>[0], options: Parameters<Api>[1]) {
  const response = await api(route, options);
  expect(response.status, `${route}: ${JSON.stringify(response.body)}`).toBe(201);
  return response.body;
}

/** Recruiting → Employee onboarding, with the candidate's name and role carried over. */
async function hiring(api: Api) {
  const recruiting = await created(api, 'createPipe', {
    body: {
      name: 'Recruiting',
      startFormFields: [
        { label: 'Name', type: 'short_text', isTitle: true },
        { label: 'Role', type: 'single_select', options: ['Engineer', 'Designer'] },
      ],
      phases: [{ name: 'Applied' }, { name: 'Offer' }, { name: 'Hired', done: true }],
    },
  });
  const onboarding = await created(api, 'createPipe', {
    body: {
      name: 'Employee onboarding',
      startFormFields: [
        { label: 'Employee', type: 'short_text', required: true, isTitle: true },
        { label: 'Role', type: 'single_select', options: ['Engineer', 'Designer', 'Sales'] },
        { label: 'Department', type: 'short_text' },
      ],
      phases: [{ name: 'Prepare' }, { name: 'Done', done: true }],
    },
  });
  const r = fieldIds(recruiting);
  const o = fieldIds(onboarding);
  const connection = await created(api, 'createConnection', {
    body: {
      name: 'Onboarding',
      parent: { type: 'pipe', id: recruiting.id },
      child: { type: 'pipe', id: onboarding.id },
      entries: 'single',
      fieldMap: [
        { childFieldId: o['Employee'], parentFieldId: r['Name'] },
        { childFieldId: o['Role'], parentFieldId: r['Role'] },
        { childFieldId: o['Department'], value: 'People' },
      ],
    },
  });
  const hired = recruiting.phases[2].id as string;
  const automation = await created(api, 'createAutomation', {
    body: {
      name: 'Hired → onboarding',
      pipeId: recruiting.id,
      trigger: { type: 'card.entered_phase', phaseId: hired },
      action: { type: 'create_connected_card', connectionId: connection.id },
    },
  });
  const hire = async (name = 'Ada Lovelace') => {
    const candidate = await created(api, 'createCard', {
      params: { pipeId: recruiting.id },
      body: { values: { [r['Name']!]: name, [r['Role']!]: 'Engineer' } },
    });
    const moved = await api('moveCard', { params: { cardId: candidate.id }, body: { phaseId: hired } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    return candidate;
  };
  return { recruiting, onboarding, r, o, connection, automation, hired, hire };
}

async function childrenOf(api: Api, cardId: string, connectionId: string) {
  const page = await api('listCardChildren', { params: { cardId }, query: { connectionId } });
  expect(page.status).toBe(200);
  return page.body.items as Array<{ id: string; title: string; finished: boolean }>;
}

async function runsOf(api: Api, automationId: string) {
  const page = await api('listAutomationRuns', { params: { automationId }, query: { limit: '100' } });
  expect(page.status, JSON.stringify(page.body)).toBe(200);
  return page.body.items as Array<{ status: string; subjectId: string; childId?: string; attempts: number; error?: { code: string; message: string } }>;
}

const cardsOfPipe = (items: Array<Record<string, unknown>>, pipeId: string) => items.filter((i) => i['entity'] === 'Card' && i['pipeId'] === pipeId);
const deadLettersOf = (orgId: string) => stream.poller.deadLetters.filter((d) => JSON.stringify(d.records).includes(`ORG#${orgId}#`));

describe('automations through the real DynamoDB Local stream', () => {
  it('when a Recruiting card enters Hired, an onboarding card is created, connected and filled in', async () => {
    const orgId = trackedOrg('hired');
    const api = client(orgId);
    const { hire, connection, o, onboarding, automation, recruiting, hired } = await hiring(api);
    const candidate = await hire();
    await stream.poller.drain();

    const children = await childrenOf(api, candidate.id, connection.id);
    expect(children).toHaveLength(1);
    const child = (await api('getCard', { params: { cardId: children[0]!.id } })).body;
    expect(child.pipeId).toBe(onboarding.id);
    expect(child.title).toBe('Ada Lovelace');
    expect(child.values).toEqual({ [o['Employee']!]: 'Ada Lovelace', [o['Role']!]: 'Engineer', [o['Department']!]: 'People' });
    expect(child.createdBy).toBe(`automation:${automation.id}`);
    expect(child.parents[0].items[0].id).toBe(candidate.id);
    const runs = await runsOf(api, automation.id);
    expect(runs).toEqual([expect.objectContaining({ status: 'done', subjectId: candidate.id, childId: child.id, attempts: 1 })]);

    // Back to Offer and hired again: the single-entry connection holds its one child; the run says so.
    await api('moveCard', { params: { cardId: candidate.id }, body: { phaseId: recruiting.phases[1].id } });
    await api('moveCard', { params: { cardId: candidate.id }, body: { phaseId: hired } });
    await stream.poller.drain();
    expect((await childrenOf(api, candidate.id, connection.id)).map((c) => c.id)).toEqual([child.id]);
    expect((await runsOf(api, automation.id)).map((r) => [r.status, r.error?.code])).toEqual([
      ['done', undefined],
      ['skipped', 'automation.childExists'],
    ]);
    expect(deadLettersOf(orgId)).toEqual([]);
  });

  it("when all of a deal's onboarding cards finish, the deal moves to Won", async () => {
    const orgId = trackedOrg('won');
    const api = client(orgId);
    const deals = await created(api, 'createPipe', {
      body: {
        name: 'Deals',
        startFormFields: [{ label: 'Company', type: 'short_text', isTitle: true }],
        phases: [{ name: 'Open' }, { name: 'Won', done: true }, { name: 'Lost', done: true }],
      },
    });
    const { Company: company } = fieldIds(deals);
    const onboarding = await created(api, 'createPipe', {
      body: {
        name: 'Customer onboarding',
        startFormFields: [{ label: 'Task', type: 'short_text', isTitle: true }],
        phases: [{ name: 'To do' }, { name: 'Done', done: true }],
      },
    });
    const connection = await created(api, 'createConnection', {
      body: { name: 'Onboarding', parent: { type: 'pipe', id: deals.id }, child: { type: 'pipe', id: onboarding.id }, entries: 'multiple' },
    });
    const [open, won] = deals.phases.map((p: { id: string }) => p.id);
    const automation = await created(api, 'createAutomation', {
      body: {
        name: 'Onboarded → Won',
        pipeId: deals.id,
        trigger: { type: 'children.all_finished', connectionId: connection.id },
        action: { type: 'move_card', phaseId: won },
      },
    });
    const deal = await created(api, 'createCard', { params: { pipeId: deals.id }, body: { values: { [company!]: 'Acme' } } });
    const { Task: task } = fieldIds(onboarding);
    const tasks = [];
    for (const name of ['Kick-off', 'Training', 'Go-live']) {
      tasks.push(
        await created(api, 'addCardChild', { params: { cardId: deal.id }, body: { connectionId: connection.id, create: { values: { [task!]: name } } } }),
      );
    }
    const done = onboarding.phases[1].id;
    const finish = async (cardId: string) => expect((await api('moveCard', { params: { cardId }, body: { phaseId: done } })).status).toBe(200);

    await finish(tasks[0].id);
    await finish(tasks[1].id);
    await stream.poller.drain();
    expect((await api('getCard', { params: { cardId: deal.id } })).body.phaseId).toBe(open);
    expect(await runsOf(api, automation.id)).toEqual([]);

    await finish(tasks[2].id);
    await stream.poller.drain();
    const after = (await api('getCard', { params: { cardId: deal.id } })).body;
    expect(after.phaseId).toBe(won);
    expect(after.finished).toBe(true);
    expect(await runsOf(api, automation.id)).toEqual([expect.objectContaining({ status: 'done', subjectId: deal.id })]);
  });

  it('children finishing together fire children.all_finished once (one child created, not two)', async () => {
    const orgId = trackedOrg('together');
    const api = client(orgId);
    const named = { startFormFields: [{ label: 'Name', type: 'short_text', isTitle: true }] };
    const deals = await created(api, 'createPipe', { body: { name: 'Deals', ...named, phases: [{ name: 'Open' }, { name: 'Won', done: true }] } });
    const tasks = await created(api, 'createPipe', { body: { name: 'Tasks', ...named, phases: [{ name: 'To do' }, { name: 'Done', done: true }] } });
    const invoices = await created(api, 'createPipe', { body: { name: 'Invoices', ...named, phases: [{ name: 'Draft' }] } });
    const [dealName, taskName, invoiceName] = [deals, tasks, invoices].map((p) => fieldIds(p)['Name']!) as [string, string, string];
    const toTasks = await created(api, 'createConnection', {
      body: { name: 'Tasks', parent: { type: 'pipe', id: deals.id }, child: { type: 'pipe', id: tasks.id }, entries: 'multiple' },
    });
    const toInvoices = await created(api, 'createConnection', {
      body: {
        name: 'Invoice',
        parent: { type: 'pipe', id: deals.id },
        child: { type: 'pipe', id: invoices.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: invoiceName, parentFieldId: dealName }],
      },
    });
    const automation = await created(api, 'createAutomation', {
      body: {
        name: 'Tasks done → invoice',
        pipeId: deals.id,
        trigger: { type: 'children.all_finished', connectionId: toTasks.id },
        action: { type: 'create_connected_card', connectionId: toInvoices.id },
      },
    });
    const deal = await created(api, 'createCard', { params: { pipeId: deals.id }, body: { values: { [dealName]: 'Globex' } } });
    const a = await created(api, 'addCardChild', { params: { cardId: deal.id }, body: { connectionId: toTasks.id, create: { values: { [taskName]: 'a' } } } });
    const b = await created(api, 'addCardChild', { params: { cardId: deal.id }, body: { connectionId: toTasks.id, create: { values: { [taskName]: 'b' } } } });
    await stream.poller.drain();
    // Both finish before the stream sees either: each child's record finds all children finished.
    await Promise.all([a, b].map((t) => api('moveCard', { params: { cardId: t.id }, body: { phaseId: tasks.phases[1].id } })));
    await stream.poller.drain();
    expect((await childrenOf(api, deal.id, toInvoices.id)).map((c) => c.title)).toEqual(['Globex']);
    expect((await runsOf(api, automation.id)).map((r) => r.status)).toEqual(['done']);
  });

  it('replaying the delivered batches twice creates no second child and changes nothing', async () => {
    const orgId = trackedOrg('replay');
    const api = client(orgId);
    const { hire, connection, automation } = await hiring(api);
    await stream.poller.drain();
    const mark = stream.delivered.length;
    const candidate = await hire();
    await stream.poller.drain();
    const settled = await snapshotOrg(orgId);
    const batches = stream.delivered.slice(mark);
    expect(batches.flatMap((b) => b.Records).some((r) => r.eventName === 'MODIFY' && JSON.stringify(r.dynamodb?.Keys).includes(candidate.id))).toBe(true);
    for (const batch of [...batches, ...batches]) {
      const response = await stream.handler(batch, fakeContext('replay'));
      expect(response.batchItemFailures).toEqual([]);
    }
    expect(await childrenOf(api, candidate.id, connection.id)).toHaveLength(1);
    expect(await snapshotOrg(orgId)).toEqual(settled);
    expect((await runsOf(api, automation.id)).map((r) => r.status)).toEqual(['done']);
  });

  it('a retry after the child was created but before the run was marked done creates no second child', async () => {
    const orgId = trackedOrg('crash');
    const api = client(orgId);
    const { hire, connection, automation } = await hiring(api);
    await stream.poller.drain();
    const mark = stream.delivered.length;
    const candidate = await hire();
    await stream.poller.drain();
    const [run] = await runsOf(api, automation.id);
    // As if the process died between creating the child and settling the run.
    await documentClient.send(
      new UpdateCommand({
        TableName: process.env['TABLE_NAME'],
        Key: keys.automationRun(orgId, automation.id, cardTriggerKey({ id: candidate.id, version: 2 })),
        UpdateExpression: 'SET #status = :running',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':running': 'running' },
      }),
    );
    for (const batch of stream.delivered.slice(mark)) await stream.handler(batch, fakeContext('retry'));
    const children = await childrenOf(api, candidate.id, connection.id);
    expect(children.map((c) => c.id)).toEqual([run!.childId]);
    expect((await runsOf(api, automation.id)).map((r) => r.status)).toEqual(['done']);
  });

  it('a fault injected on the n-th record still creates exactly one child, for every n', async () => {
    const before = stream.faultsInjected;
    // A hire makes four records: the candidate's INSERT and MODIFY, the child's INSERT and its edge.
    for (let n = 0; n < 4; n++) {
      const orgId = trackedOrg(`fault${n}`);
      const api = client(orgId);
      const { hire, connection, automation } = await hiring(api);
      await stream.poller.drain();
      stream.failOnce(n);
      const candidate = await hire(`Candidate ${n}`);
      await stream.poller.drain();
      // Later records of the cascade (the child's own records) may come after the drain's quiet period.
      await stream.poller.drain();
      const children = await childrenOf(api, candidate.id, connection.id);
      expect(
        children.map((c) => c.title),
        `fault at record ${n}`,
      ).toEqual([`Candidate ${n}`]);
      expect(
        (await runsOf(api, automation.id)).map((r) => r.status),
        `fault at record ${n}`,
      ).toEqual(['done']);
      expect(deadLettersOf(orgId)).toEqual([]);
      await expectGraphValid(orgId);
    }
    expect(stream.faultsInjected - before).toBe(4);
  }, 120_000);

  it('a failing action lands in the dead-letter list, and its run keeps the reason', async () => {
    const orgId = trackedOrg('dlq');
    const api = client(orgId);
    const { hire, connection, automation } = await hiring(api);
    // The connection the action creates through goes away after the automation was written.
    expect((await api('deleteConnection', { params: { connectionId: connection.id } })).status).toBe(204);
    const candidate = await hire();
    await stream.poller.drain();

    const letters = deadLettersOf(orgId);
    expect(letters).toHaveLength(1);
    expect(JSON.stringify(letters[0]!.records)).toContain(candidate.id);
    expect(letters[0]!.attempts).toBeGreaterThan(1);
    const [run] = await runsOf(api, automation.id);
    expect(run).toMatchObject({ status: 'failed', subjectId: candidate.id, error: { code: 'connection.unknown' } });
    expect(run!.error!.message).toContain(`could not create a connected card through ${connection.id}: Connection ${connection.id} does not exist`);
    // The candidate itself moved: only the automation's work is missing, and it is on record.
    expect((await api('getCard', { params: { cardId: candidate.id } })).body.finished).toBe(true);
  });

  it('a move blocked by a rule fails with the rule as the reason, without holding back other automations', async () => {
    const orgId = trackedOrg('blocked');
    const api = client(orgId);
    const pipe = await created(api, 'createPipe', {
      body: {
        name: 'Support',
        startFormFields: [{ label: 'Topic', type: 'short_text', isTitle: true }],
        phases: [{ name: 'New' }, { name: 'Triage', fields: [{ label: 'Severity', type: 'number', required: true }] }, { name: 'Closed', done: true }],
      },
    });
    const [, triage, closed] = pipe.phases.map((p: { id: string }) => p.id);
    const { Topic: topic } = fieldIds(pipe);
    const blocked = await created(api, 'createAutomation', {
      body: { name: 'Auto-close', pipeId: pipe.id, trigger: { type: 'card.entered_phase', phaseId: triage }, action: { type: 'move_card', phaseId: closed } },
    });
    const tagger = await created(api, 'createAutomation', {
      body: {
        name: 'Tag',
        pipeId: pipe.id,
        trigger: { type: 'card.entered_phase', phaseId: triage },
        action: { type: 'set_field', fieldId: topic, value: 'needs triage' },
      },
    });
    const card = await created(api, 'createCard', { params: { pipeId: pipe.id }, body: { values: { [topic!]: 'Login broken' } } });
    expect((await api('moveCard', { params: { cardId: card.id }, body: { phaseId: triage } })).status).toBe(200);
    await stream.poller.drain();

    expect(deadLettersOf(orgId)).toHaveLength(1);
    const [run] = await runsOf(api, blocked.id);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'card.requiredFieldsMissing' } });
    expect(run!.error!.message).toContain('Severity is required');
    // The other automation on the same record ran (once, despite the retries).
    expect((await runsOf(api, tagger.id)).map((r) => [r.status, r.attempts])).toEqual([['done', 1]]);
    const now = (await api('getCard', { params: { cardId: card.id } })).body;
    expect(now.phaseId).toBe(triage);
    expect(now.title).toBe('needs triage');
  });

  it('writes made by propagation do not trigger automations; user writes do', async () => {
    const orgId = trackedOrg('propagation');
    const api = client(orgId);
    const parentPipe = await created(api, 'createPipe', {
      body: { name: 'Accounts', startFormFields: [{ label: 'Name', type: 'short_text', isTitle: true }] },
    });
    const childPipe = await created(api, 'createPipe', {
      body: {
        name: 'Contracts',
        startFormFields: [
          { label: 'Account', type: 'short_text', isTitle: true },
          { label: 'Tier', type: 'short_text' },
          { label: 'Note', type: 'short_text' },
        ],
      },
    });
    const p = fieldIds(parentPipe);
    const c = fieldIds(childPipe);
    const connection = await created(api, 'createConnection', {
      body: {
        name: 'Contracts',
        parent: { type: 'pipe', id: parentPipe.id },
        child: { type: 'pipe', id: childPipe.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: c['Account'], parentFieldId: p['Name'], sync: true }],
      },
    });
    const onSynced = await created(api, 'createAutomation', {
      body: {
        name: 'Account renamed',
        pipeId: childPipe.id,
        trigger: { type: 'field.changed', fieldId: c['Account'] },
        action: { type: 'set_field', fieldId: c['Note'], value: 'renamed' },
      },
    });
    const onTier = await created(api, 'createAutomation', {
      body: {
        name: 'Tier changed',
        pipeId: childPipe.id,
        trigger: { type: 'field.changed', fieldId: c['Tier'] },
        action: { type: 'set_field', fieldId: c['Note'], value: 'tier changed' },
      },
    });
    const parent = await created(api, 'createCard', { params: { pipeId: parentPipe.id }, body: { values: { [p['Name']!]: 'Initech' } } });
    const child = await created(api, 'addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: {} } });
    await stream.poller.drain();
    await api('updateCard', { params: { cardId: parent.id }, body: { values: { [p['Name']!]: 'Initrode' } } });
    await stream.poller.drain();
    let now = (await api('getCard', { params: { cardId: child.id } })).body;
    expect(now.values[c['Account']!]).toBe('Initrode');
    expect(now.values[c['Note']!]).toBeUndefined();
    expect(await runsOf(api, onSynced.id)).toEqual([]);

    await api('updateCard', { params: { cardId: child.id }, body: { values: { [c['Tier']!]: 'Gold' } } });
    await stream.poller.drain();
    now = (await api('getCard', { params: { cardId: child.id } })).body;
    expect(now.values[c['Note']!]).toBe('tier changed');
    expect((await runsOf(api, onTier.id)).map((r) => r.status)).toEqual(['done']);
  });

  it('a card an automation created does not trigger that automation again', async () => {
    const orgId = trackedOrg('self');
    const api = client(orgId);
    const pipe = await created(api, 'createPipe', { body: { name: 'Tickets', startFormFields: [{ label: 'Subject', type: 'short_text', isTitle: true }] } });
    const { Subject: subject } = fieldIds(pipe);
    const followUps = await created(api, 'createConnection', {
      body: {
        name: 'Follow-ups',
        parent: { type: 'pipe', id: pipe.id },
        child: { type: 'pipe', id: pipe.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: subject, value: 'Follow-up' }],
      },
    });
    await created(api, 'createAutomation', {
      body: {
        name: 'Follow-up for every ticket',
        pipeId: pipe.id,
        trigger: { type: 'card.created' },
        action: { type: 'create_connected_card', connectionId: followUps.id },
      },
    });
    const ticket = await created(api, 'createCard', { params: { pipeId: pipe.id }, body: { values: { [subject!]: 'Printer on fire' } } });
    await stream.poller.drain();
    expect((await childrenOf(api, ticket.id, followUps.id)).map((c) => c.title)).toEqual(['Follow-up']);
    expect(cardsOfPipe(await snapshotOrg(orgId), pipe.id)).toHaveLength(2);
  });

  it(`a chain of automations creating each other's cards stops after ${MAX_CHAIN_DEPTH} generations`, async () => {
    const orgId = trackedOrg('chain');
    const api = client(orgId);
    const ball = { startFormFields: [{ label: 'Ball', type: 'short_text', isTitle: true }] };
    const ping = await created(api, 'createPipe', { body: { name: 'Ping', ...ball } });
    const pong = await created(api, 'createPipe', { body: { name: 'Pong', ...ball } });
    const [pingBall, pongBall] = [ping, pong].map((p) => fieldIds(p)['Ball']!) as [string, string];
    const toPong = await created(api, 'createConnection', {
      body: {
        name: 'to pong',
        parent: { type: 'pipe', id: ping.id },
        child: { type: 'pipe', id: pong.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: pongBall, parentFieldId: pingBall }],
      },
    });
    const toPing = await created(api, 'createConnection', {
      body: {
        name: 'to ping',
        parent: { type: 'pipe', id: pong.id },
        child: { type: 'pipe', id: ping.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: pingBall, parentFieldId: pongBall }],
      },
    });
    const a = await created(api, 'createAutomation', {
      body: { name: 'A', pipeId: ping.id, trigger: { type: 'card.created' }, action: { type: 'create_connected_card', connectionId: toPong.id } },
    });
    const b = await created(api, 'createAutomation', {
      body: { name: 'B', pipeId: pong.id, trigger: { type: 'card.created' }, action: { type: 'create_connected_card', connectionId: toPing.id } },
    });
    await created(api, 'createCard', { params: { pipeId: ping.id }, body: { values: { [pingBall]: 'serve' } } });
    await stream.poller.drain(1000);
    const items = await snapshotOrg(orgId);
    expect(cardsOfPipe(items, ping.id).length + cardsOfPipe(items, pong.id).length).toBe(1 + MAX_CHAIN_DEPTH);
    const runs = [...(await runsOf(api, a.id)), ...(await runsOf(api, b.id))];
    expect(runs.filter((r) => r.status === 'done')).toHaveLength(MAX_CHAIN_DEPTH);
    expect(runs.filter((r) => r.status === 'skipped').map((r) => r.error?.code)).toEqual(['automation.loopGuard']);
    expect(deadLettersOf(orgId)).toEqual([]);
  }, 60_000);

  it('two card-creating automations on each side of A→B and B→A end at the chain budget, each refusal in the runs', async () => {
    const orgId = trackedOrg('breadth');
    const api = client(orgId);
    const ball = { startFormFields: [{ label: 'Ball', type: 'short_text', isTitle: true }] };
    const a = await created(api, 'createPipe', { body: { name: 'A', ...ball } });
    const b = await created(api, 'createPipe', { body: { name: 'B', ...ball } });
    const [aBall, bBall] = [a, b].map((p) => fieldIds(p)['Ball']!) as [string, string];
    const toB = await created(api, 'createConnection', {
      body: {
        name: 'A→B',
        parent: { type: 'pipe', id: a.id },
        child: { type: 'pipe', id: b.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: bBall, parentFieldId: aBall }],
      },
    });
    const toA = await created(api, 'createConnection', {
      body: {
        name: 'B→A',
        parent: { type: 'pipe', id: b.id },
        child: { type: 'pipe', id: a.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: aBall, parentFieldId: bBall }],
      },
    });
    const automations = [];
    for (const [pipe, connection] of [
      [a, toB],
      [a, toB],
      [b, toA],
      [b, toA],
    ] as const) {
      automations.push(
        await created(api, 'createAutomation', {
          body: {
            name: `${pipe.name} creates`,
            pipeId: pipe.id,
            trigger: { type: 'card.created' },
            action: { type: 'create_connected_card', connectionId: connection.id },
          },
        }),
      );
    }
    await created(api, 'createCard', { params: { pipeId: a.id }, body: { values: { [aBall]: 'serve' } } });
    await stream.poller.drain(1000);
    const items = await snapshotOrg(orgId);
    // Without a breadth limit the tree doubles each generation (511 cards at depth 8).
    expect(cardsOfPipe(items, a.id).length + cardsOfPipe(items, b.id).length).toBe(1 + AUTOMATION_LIMITS.createsPerChain);
    const runs = (await Promise.all(automations.map((x) => runsOf(api, x.id)))).flat();
    expect(runs.filter((r) => r.status === 'done')).toHaveLength(AUTOMATION_LIMITS.createsPerChain);
    const refusals = runs.filter((r) => r.status === 'skipped');
    expect(refusals.length).toBeGreaterThan(0);
    for (const r of refusals) {
      expect(r.error?.code).toBe('automation.chainLimit');
      expect(r.error?.message).toContain(`created ${AUTOMATION_LIMITS.createsPerChain} cards from one change`);
    }
    expect(deadLettersOf(orgId)).toEqual([]);
  }, 120_000);

  it(`one change sets off at most ${AUTOMATION_LIMITS.createsPerChange} card creations`, async () => {
    const orgId = trackedOrg('fanlimit');
    const api = client(orgId);
    const text = { startFormFields: [{ label: 'Text', type: 'short_text', isTitle: true }] };
    const parent = await created(api, 'createPipe', { body: { name: 'Parent', ...text } });
    const child = await created(api, 'createPipe', { body: { name: 'Child', ...text } });
    const connection = await created(api, 'createConnection', {
      body: {
        name: 'kids',
        parent: { type: 'pipe', id: parent.id },
        child: { type: 'pipe', id: child.id },
        entries: 'multiple',
        fieldMap: [{ childFieldId: fieldIds(child)['Text'], parentFieldId: fieldIds(parent)['Text'] }],
      },
    });
    const automations = [];
    for (let i = 0; i < AUTOMATION_LIMITS.createsPerChange + 1; i++) {
      automations.push(
        await created(api, 'createAutomation', {
          body: {
            name: `create ${i}`,
            pipeId: parent.id,
            trigger: { type: 'card.created' },
            action: { type: 'create_connected_card', connectionId: connection.id },
          },
        }),
      );
    }
    const card = await created(api, 'createCard', { params: { pipeId: parent.id }, body: { values: { [fieldIds(parent)['Text']!]: 'one change' } } });
    await stream.poller.drain(1000);
    expect(await childrenOf(api, card.id, connection.id)).toHaveLength(AUTOMATION_LIMITS.createsPerChange);
    const runs = (await Promise.all(automations.map((x) => runsOf(api, x.id)))).flat();
    expect(runs.filter((r) => r.status === 'done')).toHaveLength(AUTOMATION_LIMITS.createsPerChange);
    expect(runs.filter((r) => r.status === 'skipped').map((r) => r.error?.code)).toEqual(['automation.breadthLimit']);
  }, 60_000);

  it('the per-organization budget for a minute is spent once per creation and refuses past its limit', async () => {
    const orgId = trackedOrg('orgrate');
    const repo = new AutomationStore(documentClient, process.env['TABLE_NAME']!);
    const expires = Math.floor(Date.now() / 1000) + 120;
    const spent = [];
    for (let i = 0; i < 4; i++) spent.push(await repo.spendOrgBudget(orgId, '2026-12-01T10:00', 3, expires));
    expect(spent).toEqual([true, true, true, false]);
    // The next minute has its own budget; another organization's is untouched.
    expect(await repo.spendOrgBudget(orgId, '2026-12-01T10:01', 3, expires)).toBe(true);
    expect(await repo.spendOrgBudget(`${orgId}-other`, '2026-12-01T10:00', 3, expires)).toBe(true);
  });

  it('a token may not pose as an automation: a sub in the automation namespace is refused', async () => {
    const orgId = trackedOrg('impostor');
    const api = client(orgId);
    const { recruiting, automation } = await hiring(api);
    for (const userId of [`automation:${automation.id}`, `automation:${automation.id}:99`]) {
      const response = await api('createCard', { params: { pipeId: recruiting.id }, body: { values: {} }, as: { orgId, role: 'admin', userId } });
      expect(response.status).toBe(401);
      expect(response.body.detail).toContain('reserved for automations');
    }
    expect(cardsOfPipe(await snapshotOrg(orgId), recruiting.id)).toHaveLength(0);
  });

  it('two automations moving a card back and forth are stopped by the chain depth', async () => {
    const orgId = trackedOrg('pingpong');
    const api = client(orgId);
    const pipe = await created(api, 'createPipe', {
      body: {
        name: 'Flip',
        startFormFields: [{ label: 'Coin', type: 'short_text', isTitle: true }],
        phases: [{ name: 'Start' }, { name: 'Left' }, { name: 'Right' }],
      },
    });
    const [, left, right] = pipe.phases.map((p: { id: string }) => p.id);
    const toRight = await created(api, 'createAutomation', {
      body: { name: 'to right', pipeId: pipe.id, trigger: { type: 'card.entered_phase', phaseId: left }, action: { type: 'move_card', phaseId: right } },
    });
    const toLeft = await created(api, 'createAutomation', {
      body: { name: 'to left', pipeId: pipe.id, trigger: { type: 'card.entered_phase', phaseId: right }, action: { type: 'move_card', phaseId: left } },
    });
    const card = await created(api, 'createCard', { params: { pipeId: pipe.id }, body: { values: { [fieldIds(pipe)['Coin']!]: 'heads' } } });
    await api('moveCard', { params: { cardId: card.id }, body: { phaseId: left } });
    await stream.poller.drain(1000);
    const runs = [...(await runsOf(api, toRight.id)), ...(await runsOf(api, toLeft.id))];
    // Automation moves carry the system's mark, so each move is one generation deeper than the last.
    expect(runs.filter((r) => r.status === 'done')).toHaveLength(MAX_CHAIN_DEPTH);
    expect(runs.filter((r) => r.status === 'skipped').map((r) => [r.error?.code, r.error?.message])).toEqual([
      ['automation.loopGuard', expect.stringContaining(`stopped at ${MAX_CHAIN_DEPTH} to break a loop`)],
    ]);
    expect(deadLettersOf(orgId)).toEqual([]);
  }, 120_000);

  it('disabled automations do not run', async () => {
    const orgId = trackedOrg('disabled');
    const api = client(orgId);
    const { hire, connection, automation } = await hiring(api);
    expect((await api('updateAutomation', { params: { automationId: automation.id }, body: { enabled: false } })).status).toBe(200);
    const candidate = await hire();
    await stream.poller.drain();
    expect(await childrenOf(api, candidate.id, connection.id)).toEqual([]);
    expect(await runsOf(api, automation.id)).toEqual([]);
  });
});

describe('automation CRUD and validation', () => {
  it('creates, reads, lists by pipe with pagination, updates with If-Match and deletes', async () => {
    const orgId = trackedOrg('crud');
    const api = client(orgId);
    const { recruiting, connection, automation, hired, r } = await hiring(api);
    expect(automation).toMatchObject({ id: expect.stringMatching(/^auto_/), pipeId: recruiting.id, enabled: true, version: 1, createdBy: 'user-admin' });

    const got = await api('getAutomation', { params: { automationId: automation.id } });
    expect(got.status).toBe(200);
    expect(got.headers['etag']).toBe('"1"');
    expect(got.body).toEqual(automation);

    const more = [];
    for (let i = 0; i < 3; i++) {
      more.push(
        await created(api, 'createAutomation', {
          body: {
            name: `Stamp ${i}`,
            pipeId: recruiting.id,
            enabled: false,
            trigger: { type: 'card.created' },
            action: { type: 'set_field', fieldId: r['Role'], value: 'Designer' },
          },
        }),
      );
    }
    const first = await api('listAutomations', { query: { pipeId: recruiting.id, limit: '3' } });
    expect(first.status).toBe(200);
    expect(first.body.items.map((a: { id: string }) => a.id)).toEqual([automation.id, more[0].id, more[1].id]);
    const second = await api('listAutomations', { query: { pipeId: recruiting.id, limit: '3', cursor: first.body.nextCursor } });
    expect(second.body.items.map((a: { id: string }) => a.id)).toEqual([more[2].id]);
    expect(second.body.nextCursor).toBeNull();
    // A cursor of one pipe's list is refused for another pipe's.
    const other = await created(api, 'createPipe', { body: { name: 'Other' } });
    expect((await api('listAutomations', { query: { pipeId: other.id, cursor: first.body.nextCursor } })).status).toBe(400);
    expect((await api('listAutomations', { query: { pipeId: other.id } })).body).toEqual({ items: [], nextCursor: null });
    expect((await api('listAutomations', { query: { pipeId: 'pipe_01JD0000000000000000000000' } })).status).toBe(404);
    // Without pipeId: every automation of the organization, oldest first, paginated; none of another org's.
    const orgWide = await api('listAutomations', { query: { limit: '2' } });
    expect(orgWide.status).toBe(200);
    expect(orgWide.body.items.map((a: { id: string }) => a.id)).toEqual([automation.id, more[0].id]);
    const rest = await api('listAutomations', { query: { cursor: orgWide.body.nextCursor } });
    expect(rest.body.items.map((a: { id: string }) => a.id)).toEqual([more[1].id, more[2].id]);
    expect(rest.body.nextCursor).toBeNull();
    expect((await api('listAutomations', { query: { pipeId: recruiting.id, cursor: orgWide.body.nextCursor } })).status).toBe(400);
    expect((await client(trackedOrg('crud-other'))('listAutomations', {})).body).toEqual({ items: [], nextCursor: null });

    const renamed = await api('updateAutomation', {
      params: { automationId: automation.id },
      body: { name: 'Hired → onboarding (v2)' },
      headers: { 'if-match': '"1"' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Hired → onboarding (v2)', version: 2, trigger: automation.trigger, action: automation.action });
    const stale = await api('updateAutomation', { params: { automationId: automation.id }, body: { enabled: false }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    const retargeted = await api('updateAutomation', {
      params: { automationId: automation.id },
      body: { trigger: { type: 'card.created' }, action: { type: 'move_card', phaseId: hired } },
    });
    expect(retargeted.status).toBe(200);
    expect(retargeted.body).toMatchObject({ version: 3, trigger: { type: 'card.created' }, action: { type: 'move_card', phaseId: hired } });
    expect(connection.id).toBeTruthy();

    expect((await api('deleteAutomation', { params: { automationId: automation.id }, headers: { 'if-match': '"2"' } })).status).toBe(412);
    expect((await api('deleteAutomation', { params: { automationId: automation.id }, headers: { 'if-match': '"3"' } })).status).toBe(204);
    expect((await api('getAutomation', { params: { automationId: automation.id } })).status).toBe(404);
    expect((await api('deleteAutomation', { params: { automationId: automation.id } })).status).toBe(404);
    expect((await api('updateAutomation', { params: { automationId: automation.id }, body: { name: 'x' } })).status).toBe(404);
    expect((await api('listAutomationRuns', { params: { automationId: automation.id } })).status).toBe(404);
  });

  it('a pipe with automations is not deleted out from under them (409 with the count)', async () => {
    const orgId = trackedOrg('pipedel');
    const api = client(orgId);
    const pipe = (await api('createPipe', { body: { name: 'Lonely', startFormFields: [{ label: 'Note', type: 'short_text' }] } })).body;
    const automation = await created(api, 'createAutomation', {
      body: {
        name: 'Stamp',
        pipeId: pipe.id,
        trigger: { type: 'card.created' },
        action: { type: 'set_field', fieldId: pipe.startForm.fields[0].id, value: 'hello' },
      },
    });
    const refused = await api('deletePipe', { params: { pipeId: pipe.id } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'pipe.hasAutomations', automationCount: 1 });
    expect((await api('deleteAutomation', { params: { automationId: automation.id } })).status).toBe(204);
    expect((await api('deletePipe', { params: { pipeId: pipe.id } })).status).toBe(204);
  });

  it('admins write; members and viewers read only; other organizations see nothing', async () => {
    const orgId = trackedOrg('roles');
    const admin = client(orgId);
    const { automation, recruiting } = await hiring(admin);
    const viewer = client(orgId, 'viewer');
    const member = client(orgId, 'member');
    expect((await viewer('getAutomation', { params: { automationId: automation.id } })).status).toBe(200);
    expect((await viewer('listAutomations', { query: { pipeId: recruiting.id } })).body.items).toHaveLength(1);
    expect((await viewer('listAutomationRuns', { params: { automationId: automation.id } })).status).toBe(200);
    const body = { name: 'x', pipeId: recruiting.id, trigger: { type: 'card.created' }, action: { type: 'move_card', phaseId: recruiting.phases[1].id } };
    expect((await member('createAutomation', { body })).status).toBe(403);
    expect((await member('updateAutomation', { params: { automationId: automation.id }, body: { enabled: false } })).status).toBe(403);
    expect((await viewer('deleteAutomation', { params: { automationId: automation.id } })).status).toBe(403);
    const stranger = client(newOrg('stranger'));
    expect((await stranger('getAutomation', { params: { automationId: automation.id } })).status).toBe(404);
    expect((await stranger('createAutomation', { body })).status).toBe(422);
  });

  it('refuses what does not belong to the pipe with a 422 that names the field, and writes nothing', async () => {
    const orgId = trackedOrg('invalid');
    const api = client(orgId);
    const { recruiting, onboarding, connection, r, o } = await hiring(api);
    const numbers = await created(api, 'createPipe', { body: { name: 'Scores', startFormFields: [{ label: 'Score', type: 'number' }] } });
    const score = fieldIds(numbers)['Score'];
    const database = await created(api, 'createDatabase', { body: { name: 'Companies', fields: [{ label: 'Name', type: 'short_text', isTitle: true }] } });
    const toRecords = await created(api, 'createConnection', {
      body: { name: 'Companies', parent: { type: 'pipe', id: recruiting.id }, child: { type: 'database', id: database.id }, entries: 'multiple' },
    });
    const linkOnly = await created(api, 'createConnection', {
      body: {
        name: 'Referrals',
        parent: { type: 'pipe', id: recruiting.id },
        child: { type: 'pipe', id: onboarding.id },
        entries: 'multiple',
        canCreate: false,
      },
    });
    const hired = recruiting.phases[2].id;
    const base = { name: 'Bad', pipeId: recruiting.id };
    const cases: Array<[unknown, unknown, string, string]> = [
      [
        { type: 'card.entered_phase', phaseId: onboarding.phases[0].id },
        { type: 'move_card', phaseId: hired },
        'body.trigger.phaseId',
        'automation.unknownPhase',
      ],
      [{ type: 'field.changed', fieldId: o['Employee'] }, { type: 'move_card', phaseId: hired }, 'body.trigger.fieldId', 'automation.unknownField'],
      [
        { type: 'children.all_finished', connectionId: connection.id },
        { type: 'move_card', phaseId: onboarding.phases[1].id },
        'body.action.phaseId',
        'automation.unknownPhase',
      ],
      [{ type: 'card.created' }, { type: 'set_field', fieldId: score, value: 1 }, 'body.action.fieldId', 'automation.unknownField'],
      [{ type: 'card.created' }, { type: 'set_field', fieldId: r['Role'], value: 'Astronaut' }, 'body.action.value', 'field.notAnOption'],
      [{ type: 'card.created' }, { type: 'set_field', fieldId: r['Name'], value: 42 }, 'body.action.value', 'field.wrongType'],
      [{ type: 'card.entered_phase', phaseId: hired }, { type: 'move_card', phaseId: hired }, 'body.action.phaseId', 'automation.noOp'],
      [{ type: 'card.created' }, { type: 'create_connected_card', connectionId: linkOnly.id }, 'body.action.connectionId', 'connection.createDisabled'],
      [
        { type: 'card.created' },
        { type: 'create_connected_card', connectionId: 'conn_01JD0000000000000000000000' },
        'body.action.connectionId',
        'connection.unknown',
      ],
      [
        { type: 'children.all_finished', connectionId: toRecords.id },
        { type: 'move_card', phaseId: hired },
        'body.trigger.connectionId',
        'automation.childrenNeverFinish',
      ],
    ];
    for (const [trigger, action, path, code] of cases) {
      const response = await api('createAutomation', { body: { ...base, trigger, action } });
      expect(response.status, JSON.stringify({ trigger, action, response: response.body })).toBe(422);
      expect(response.body.errors, JSON.stringify(response.body)).toContainEqual(expect.objectContaining({ path, code }));
    }
    // The onboarding pipe is the child of the connection, not its parent: neither trigger nor action may use it there.
    const fromChild = await api('createAutomation', {
      body: {
        name: 'Bad',
        pipeId: onboarding.id,
        trigger: { type: 'children.all_finished', connectionId: connection.id },
        action: { type: 'create_connected_card', connectionId: connection.id },
      },
    });
    expect(fromChild.status).toBe(422);
    expect(fromChild.body.errors.map((e: { path: string; code: string }) => [e.path, e.code])).toEqual([
      ['body.trigger.connectionId', 'automation.connectionNotFromPipe'],
      ['body.action.connectionId', 'automation.connectionNotFromPipe'],
    ]);
    const unknownPipe = await api('createAutomation', {
      body: { ...base, pipeId: 'pipe_01JD0000000000000000000000', trigger: { type: 'card.created' }, action: { type: 'move_card', phaseId: hired } },
    });
    expect(unknownPipe.status).toBe(422);
    expect(unknownPipe.body.errors).toEqual([expect.objectContaining({ path: 'body.pipeId', code: 'automation.unknownPipe' })]);
    // Shapes the schema refuses are a 400 naming the property.
    const badShape = await api('createAutomation', { body: { ...base, trigger: { type: 'card.deleted' }, action: { type: 'move_card', phaseId: hired } } });
    expect(badShape.status).toBe(400);
    expect(badShape.body.errors[0].path).toMatch(/^body\.trigger/);
    const noValue = await api('createAutomation', { body: { ...base, trigger: { type: 'card.created' }, action: { type: 'set_field', fieldId: r['Name'] } } });
    expect(noValue.status).toBe(400);
    expect(noValue.body.errors[0].path).toBe('body.action.value');
    const extra = await api('createAutomation', {
      body: { ...base, trigger: { type: 'card.created', phaseId: hired }, action: { type: 'move_card', phaseId: hired } },
    });
    expect(extra.status).toBe(400);

    expect((await api('listAutomations', { query: { pipeId: recruiting.id } })).body.items).toHaveLength(1);
    // set_field values are stored as the field type normalizes them.
    const stamp = await created(api, 'createAutomation', {
      body: { ...base, name: 'Score', pipeId: numbers.id, trigger: { type: 'card.created' }, action: { type: 'set_field', fieldId: score, value: 7 } },
    });
    expect(stamp.action).toEqual({ type: 'set_field', fieldId: score, value: 7 });
    // Switching an automation on re-checks what it names.
    const off = await created(api, 'createAutomation', {
      body: {
        ...base,
        name: 'Later',
        enabled: false,
        trigger: { type: 'card.created' },
        action: { type: 'create_connected_card', connectionId: connection.id },
      },
    });
    expect((await api('deleteConnection', { params: { connectionId: connection.id } })).status).toBe(204);
    const on = await api('updateAutomation', { params: { automationId: off.id }, body: { enabled: true } });
    expect(on.status).toBe(422);
    expect(on.body.errors).toEqual([expect.objectContaining({ path: 'body.action.connectionId', code: 'connection.unknown' })]);
    const stored = await documentClient.send(new GetCommand({ TableName: process.env['TABLE_NAME'], Key: keys.automation(orgId, off.id) }));
    expect(stored.Item?.['enabled']).toBe(false);
  });
});
