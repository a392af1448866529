/** The repository, built once per container from the module-scope client and the table name. */
import type { Principal } from '../../domain/kernel/auth';
import type { UseCaseContext } from '../../domain/kernel/context';
import { createStore } from '../../domain/store';
import { documentClient } from '../../domain/kernel/client';
import { tableName } from './env';

/** Max age of cached container definitions in ms (domain/pipes/store.ts); unset: 5 s, 0: off. */
function definitionMaxAgeMs(): number | undefined {
  const raw = process.env['DEFINITION_MAX_AGE_MS'];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`DEFINITION_MAX_AGE_MS takes a whole number of milliseconds, not ${raw}`);
  return value;
}

const maxAgeMs = definitionMaxAgeMs();
export const store = createStore(documentClient, tableName(), maxAgeMs === undefined ? {} : { definitions: { maxAgeMs } });

export const contextFor = (principal: Principal): UseCaseContext => ({ principal, store });
