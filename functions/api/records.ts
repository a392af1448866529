import { batchWrite } from '../../domain/items/batch';
import { jobView } from '../../domain/connections/cascade';
import * as records from '../../domain/databases/records';
import { contextFor } from '../shared/store';
import { apiHandler, ifMatchVersion } from './http';
import { databaseRoutes as routes } from './routes-databases';

export const createRecord = apiHandler(routes.createRecord, async ({ principal, params, body }) => {
  const record = await records.createRecord(contextFor(principal), params.databaseId, body);
  return { body: record, version: record.version, headers: { location: `/v1/records/${record.id}` } };
});

export const listRecords = apiHandler(routes.listRecords, async ({ principal, params, query }) => ({
  body: await records.listRecords(contextFor(principal), params.databaseId, query),
}));

export const getRecord = apiHandler(routes.getRecord, async ({ principal, params }) => {
  const record = await records.getRecord(contextFor(principal), params.recordId);
  return { body: record, version: record.version };
});

export const updateRecord = apiHandler(routes.updateRecord, async ({ principal, params, body, headers }) => {
  const record = await records.updateRecord(contextFor(principal), params.recordId, body, ifMatchVersion(headers));
  return { body: record, version: record.version };
});

export const deleteRecord = apiHandler(routes.deleteRecord, async ({ principal, params, headers }) => {
  const outcome = await records.deleteRecord(contextFor(principal), params.recordId, ifMatchVersion(headers));
  if (outcome.done) return {};
  return { status: 202, body: jobView(outcome.job), headers: { location: `/v1/jobs/${outcome.job.id}` } };
});

export const batchRecords = apiHandler(routes.batchRecords, async ({ principal, params, body }) => ({
  body: await batchWrite(contextFor(principal), 'record', params.databaseId, body.items),
}));
