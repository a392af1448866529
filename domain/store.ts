import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ActivityStore } from './activity/store';
import { ConnectionStore } from './connections/store';
import { ContainerStore, type DefinitionCacheOptions } from './pipes/store';
import { ItemStore } from './items/store';
import { JobStore } from './connections/jobs-store';
import { SettingsStore } from './settings/store';

export interface StoreOptions {
  /** The container-definition cache (domain/pipes/store.ts): max age 5 s by default, 0 turns it off. */
  definitions?: DefinitionCacheOptions;
}

/** The repository the use cases talk to. Built once per container by the handlers. */
export function createStore(doc: DynamoDBDocumentClient, table: string, options: StoreOptions = {}) {
  return {
    table,
    containers: new ContainerStore(doc, table, options.definitions),
    items: new ItemStore(doc, table),
    connections: new ConnectionStore(doc, table),
    jobs: new JobStore(doc, table),
    activity: new ActivityStore(doc, table),
    settings: new SettingsStore(doc, table),
  };
}

export type Store = ReturnType<typeof createStore>;
