import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ActivityStore } from './activity';
import { ConnectionStore } from './connections';
import { ContainerStore } from './containers';
import { ItemStore } from './items';
import { JobStore } from './jobs';
import { SettingsStore } from './settings';

/** The repository the use cases talk to. Built once per container by the handlers. */
export function createStore(doc: DynamoDBDocumentClient, table: string) {
  return {
    table,
    containers: new ContainerStore(doc, table),
    items: new ItemStore(doc, table),
    connections: new ConnectionStore(doc, table),
    jobs: new JobStore(doc, table),
    activity: new ActivityStore(doc, table),
    settings: new SettingsStore(doc, table),
  };
}

export type Store = ReturnType<typeof createStore>;
