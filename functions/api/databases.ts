import * as databases from '../../domain/databases/databases';
import { contextFor } from '../shared/store';
import { apiHandler, ifMatchVersion } from './http';
import { databaseRoutes as routes } from './routes-databases';

export const createDatabase = apiHandler(routes.createDatabase, async ({ principal, body }) => {
  const database = await databases.createDatabase(contextFor(principal), body);
  return { body: database, version: database.version, headers: { location: `/v1/databases/${database.id}` } };
});

export const listDatabases = apiHandler(routes.listDatabases, async ({ principal, query }) => ({
  body: await databases.listDatabases(contextFor(principal), query),
}));

export const getDatabase = apiHandler(routes.getDatabase, async ({ principal, params }) => {
  const database = await databases.getDatabase(contextFor(principal), params.databaseId);
  return { body: database, version: database.version };
});

export const updateDatabase = apiHandler(routes.updateDatabase, async ({ principal, params, body, headers }) => {
  const database = await databases.updateDatabase(contextFor(principal), params.databaseId, body, ifMatchVersion(headers));
  return { body: database, version: database.version };
});

export const deleteDatabase = apiHandler(routes.deleteDatabase, async ({ principal, params, headers }) => {
  await databases.deleteDatabase(contextFor(principal), params.databaseId, ifMatchVersion(headers));
  return {};
});

export const createDatabaseField = apiHandler(routes.createDatabaseField, async ({ principal, params, body, headers }) => ({
  body: await databases.createDatabaseField(contextFor(principal), params.databaseId, body, ifMatchVersion(headers)),
}));

export const updateDatabaseField = apiHandler(routes.updateDatabaseField, async ({ principal, params, body, headers }) => ({
  body: await databases.updateDatabaseField(contextFor(principal), params.databaseId, params.fieldId, body, ifMatchVersion(headers)),
}));

export const deleteDatabaseField = apiHandler(routes.deleteDatabaseField, async ({ principal, params, headers }) => {
  await databases.deleteDatabaseField(contextFor(principal), params.databaseId, params.fieldId, ifMatchVersion(headers));
  return {};
});
