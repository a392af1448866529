/** The repository, built once per container from the module-scope client and the table name. */
import type { Principal } from '../../domain/auth';
import type { UseCaseContext } from '../../domain/context';
import { createStore } from '../../domain/store';
import { documentClient } from '../../domain/store/client';
import { tableName } from './env';

export const store = createStore(documentClient, tableName());

export const contextFor = (principal: Principal): UseCaseContext => ({ principal, store });
