/**
 * A fan-out job item of the format before one-job-per-parent (`PROPAGATE#<version>`, no state)
 * is finished by the current stream code: its record sends the parent's current state to every
 * child the old job may have missed, and the item goes away.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../support/api';
import { graphCheckedOrgs } from '../support/graph';
import { snapshotOrg } from '../support/table';
import { startStreamHarness, type StreamHarness } from '../support/stream';
import { keys } from '../../domain/kernel/keys';

let stream: StreamHarness;
beforeAll(async () => {
  stream = await startStreamHarness();
});
afterAll(async () => {
  await stream?.stop();
});

const newOrg = graphCheckedOrgs();

describe('legacy fan-out job items', () => {
  it('a PROPAGATE# job record brings every child to the parent state and is removed', async () => {
    const orgId = newOrg('fanout-legacy');
    const api = client(orgId);
    const fields = [
      { label: 'Name', type: 'short_text', isTitle: true },
      { label: 'Tier', type: 'short_text' },
    ];
    const parentPipe = (await api('createPipe', { body: { name: 'Parent', startFormFields: fields } })).body;
    const childPipe = (await api('createPipe', { body: { name: 'Child', startFormFields: fields } })).body;
    const [pName, pTier] = parentPipe.startForm.fields.map((f: any) => f.id);
    const [cName, cTier] = childPipe.startForm.fields.map((f: any) => f.id);
    const connection = (
      await api('createConnection', {
        body: {
          name: 'Children',
          parent: { type: 'pipe', id: parentPipe.id },
          child: { type: 'pipe', id: childPipe.id },
          entries: 'multiple',
          fieldMap: [{ childFieldId: cTier, parentFieldId: pTier, sync: true }],
        },
      })
    ).body;
    const parent = (await api('createCard', { params: { pipeId: parentPipe.id }, body: { values: { [pName]: 'P', [pTier]: 'gold' } } })).body;
    const children = [];
    for (let i = 0; i < 3; i++)
      children.push(
        (await api('addCardChild', { params: { cardId: parent.id }, body: { connectionId: connection.id, create: { values: { [cName]: `c${i}` } } } })).body,
      );
    await stream.poller.drain();

    // What an old job cut short left: two children the old code never reached.
    const { documentClient } = await import('../../domain/kernel/client');
    const table = process.env['TABLE_NAME']!;
    const current = (await api('getCard', { params: { cardId: parent.id } })).body;
    for (const child of children.slice(1)) {
      await documentClient.send(
        new UpdateCommand({
          TableName: table,
          Key: keys.card(orgId, child.id),
          UpdateExpression: 'SET #values.#f = :stale, version = version + :one REMOVE #sv',
          ExpressionAttributeNames: { '#values': 'values', '#f': cTier, '#sv': `syncVersion:${connection.id}` },
          ExpressionAttributeValues: { ':stale': 'stale', ':one': 1 },
        }),
      );
    }
    await stream.poller.drain();
    await documentClient.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...keys.propagationJob(orgId, parent.id, current.version),
          entity: 'PropagationJob',
          orgId,
          job: { orgId, parentType: 'card', parentId: parent.id, parentVersion: current.version, step: 1, cursor: keys.card(orgId, parent.id) },
          step: 1,
        },
      }),
    );
    await stream.poller.drain();

    for (const child of children) expect((await api('getCard', { params: { cardId: child.id } })).body.values[cTier], child.id).toBe('gold');
    const items = await snapshotOrg(orgId);
    expect(items.filter((i) => String(i['SK']).startsWith('PROPAGATE#'))).toEqual([]);
    expect(items.filter((i) => i['entity'] === 'PropagationJob')).toEqual([]);
    expect(stream.poller.deadLetters).toEqual([]);
  });
});
