/** The repository, built once per container from the module-scope client and the table name. */
import type { Principal } from '../../domain/kernel/auth';
import type { UseCaseContext } from '../../domain/kernel/context';
import { createStore } from '../../domain/store';
import { documentClient } from '../../domain/kernel/client';
import { tableName } from './env';

export const store = createStore(documentClient, tableName());

export const contextFor = (principal: Principal): UseCaseContext => ({ principal, store });
