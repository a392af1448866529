/**
 * The route manifest: one entry per HTTP route. The CDK API stack builds one API route per entry,
 * integrated with the Lambda function of its area (functions/api/areas.ts), granted the strongest
 * table access among the area's routes; the local gateway dispatches with it, the handlers
 * validate with its schemas and the OpenAPI document is generated from it.
 */
import type { RouteSpec } from './route-spec';
import * as s from '../../domain/schemas';
import { z } from '../../domain/schemas';
import * as items from '../../domain/item-schemas';
import { activityRoutes } from './routes-activity';
import { automationRoutes } from './routes-automations';
import { tokenRoutes } from './routes-tokens';
import { acceptedDelete, jobRoutes } from './routes-jobs';
import { webhookRoutes } from './routes-webhooks';

export type { HttpMethod, RouteSpec } from './route-spec';

const params = z.strictObject;
const pipeParams = params({ pipeId: s.Id('pipe') });
const phaseParams = params({ pipeId: s.Id('pipe'), phaseId: s.Id('phase') });
const pipeFieldParams = params({ pipeId: s.Id('pipe'), fieldId: s.Id('field') });
const cardParams = params({ cardId: s.Id('card') });
const dbParams = params({ databaseId: s.Id('database') });
const dbFieldParams = params({ databaseId: s.Id('database'), fieldId: s.Id('field') });
const recordParams = params({ recordId: s.Id('record') });
const connectionParams = params({ connectionId: s.Id('connection') });
const childId = z.string().regex(/^(card|rec)_[0-9A-HJKMNP-TV-Z]{26}$/, { message: 'must be a card or record id' });
const cardChildParams = params({ cardId: s.Id('card'), childId });
const recordChildParams = params({ recordId: s.Id('record'), childId });

const noContent = { status: 204, description: 'Deleted' };

export const routes = {
  health: {
    method: 'GET', path: '/v1/health', handler: { module: 'system', export: 'health' }, access: 'NONE', role: null,
    summary: 'Liveness check', tag: 'Operations', success: { status: 200, description: 'Up', schema: s.Health },
  },
  openapi: {
    method: 'GET', path: '/v1/openapi.json', handler: { module: 'system', export: 'openapi' }, access: 'NONE', role: null,
    summary: 'This OpenAPI document', tag: 'Operations', success: { status: 200, description: 'OpenAPI 3.1 document' },
  },
  docs: {
    method: 'GET', path: '/v1/docs', handler: { module: 'system', export: 'docs' }, access: 'NONE', role: null,
    summary: 'The HTML reference of this API (swagger-ui over /v1/openapi.json, served offline)', tag: 'Operations', success: { status: 200, description: 'An HTML page' },
  },
  docsAssets: {
    method: 'GET', path: '/v1/docs/{asset}', handler: { module: 'system', export: 'docsAssets' }, access: 'NONE', role: null,
    summary: 'The reference page\'s scripts and stylesheet', tag: 'Operations', request: { params: s.DocsAssetParams }, answers: [404],
    success: { status: 200, description: 'swagger-ui-bundle.js, swagger-ui.css or init.js' },
  },

  createPipe: {
    method: 'POST', path: '/v1/pipes', handler: { module: 'pipes', export: 'createPipe' }, access: 'RW', role: 'admin',
    summary: 'Create a pipe, optionally with its phases and fields', tag: 'Pipes',
    request: { body: s.CreatePipe }, success: { status: 201, description: 'Created', schema: s.Pipe, etag: true },
  },
  listPipes: {
    method: 'GET', path: '/v1/pipes', handler: { module: 'pipes', export: 'listPipes' }, access: 'RO', role: 'viewer',
    summary: 'List pipes', tag: 'Pipes',
    request: { query: s.Pagination }, success: { status: 200, description: 'A page of pipes', schema: s.page(s.PipeSummary, 'PipePage') },
  },
  getPipe: {
    method: 'GET', path: '/v1/pipes/{pipeId}', handler: { module: 'pipes', export: 'getPipe' }, access: 'RO', role: 'viewer',
    summary: 'Get a pipe definition: phases in order, start form and phase fields', tag: 'Pipes',
    request: { params: pipeParams }, success: { status: 200, description: 'The pipe', schema: s.Pipe, etag: true },
  },
  updatePipe: {
    method: 'PATCH', path: '/v1/pipes/{pipeId}', handler: { module: 'pipes', export: 'updatePipe' }, access: 'RW', role: 'admin',
    summary: 'Rename a pipe, reorder its phases or choose its title field', tag: 'Pipes',
    request: { params: pipeParams, body: s.UpdatePipe }, ifMatch: true, success: { status: 200, description: 'The pipe', schema: s.Pipe, etag: true },
  },
  deletePipe: {
    method: 'DELETE', path: '/v1/pipes/{pipeId}', handler: { module: 'pipes', export: 'deletePipe' }, access: 'RW', role: 'admin',
    summary: 'Delete a pipe that has no cards', tag: 'Pipes', request: { params: pipeParams }, ifMatch: true, success: noContent,
  },
  createPhase: {
    method: 'POST', path: '/v1/pipes/{pipeId}/phases', handler: { module: 'pipes', export: 'createPhase' }, access: 'RW', role: 'admin',
    summary: 'Add a phase', tag: 'Pipes',
    request: { params: pipeParams, body: s.CreatePhase }, ifMatch: true, success: { status: 201, description: 'The pipe', schema: s.Pipe, etag: true },
  },
  updatePhase: {
    method: 'PATCH', path: '/v1/pipes/{pipeId}/phases/{phaseId}', handler: { module: 'pipes', export: 'updatePhase' }, access: 'RW', role: 'admin',
    summary: 'Rename a phase or mark it done', tag: 'Pipes',
    request: { params: phaseParams, body: s.UpdatePhase }, ifMatch: true, success: { status: 200, description: 'The pipe', schema: s.Pipe, etag: true },
  },
  deletePhase: {
    method: 'DELETE', path: '/v1/pipes/{pipeId}/phases/{phaseId}', handler: { module: 'pipes', export: 'deletePhase' }, access: 'RW', role: 'admin',
    summary: 'Delete an empty phase and its fields', tag: 'Pipes', request: { params: phaseParams }, ifMatch: true, success: noContent,
  },
  createPipeField: {
    method: 'POST', path: '/v1/pipes/{pipeId}/fields', handler: { module: 'pipes', export: 'createPipeField' }, access: 'RW', role: 'admin',
    summary: 'Add a field to the start form or a phase', tag: 'Pipes',
    request: { params: pipeParams, body: s.CreatePipeField }, ifMatch: true, success: { status: 201, description: 'The field', schema: s.Field },
  },
  updatePipeField: {
    method: 'PATCH', path: '/v1/pipes/{pipeId}/fields/{fieldId}', handler: { module: 'pipes', export: 'updatePipeField' }, access: 'RW', role: 'admin',
    summary: 'Change a field (its type is fixed)', tag: 'Pipes',
    request: { params: pipeFieldParams, body: s.UpdateField }, ifMatch: true, success: { status: 200, description: 'The field', schema: s.Field },
  },
  deletePipeField: {
    method: 'DELETE', path: '/v1/pipes/{pipeId}/fields/{fieldId}', handler: { module: 'pipes', export: 'deletePipeField' }, access: 'RW', role: 'admin',
    summary: 'Delete a field', tag: 'Pipes', request: { params: pipeFieldParams }, ifMatch: true, success: noContent,
  },

  createCard: {
    method: 'POST', path: '/v1/pipes/{pipeId}/cards', handler: { module: 'cards', export: 'createCard' }, access: 'RW', role: 'member',
    summary: 'Create a card in the start phase', tag: 'Cards',
    request: { params: pipeParams, body: s.CreateCard }, success: { status: 201, description: 'The card', schema: s.Card, etag: true },
  },
  listCards: {
    method: 'GET', path: '/v1/pipes/{pipeId}/cards', handler: { module: 'cards', export: 'listCards' }, access: 'RO', role: 'viewer',
    summary: 'List, filter and sort the cards of a pipe, or sync its changes (updatedSince)', tag: 'Cards',
    request: { params: pipeParams, query: items.ListCardsQuery }, success: { status: 200, description: 'A page of cards', schema: items.CardListPage },
  },
  batchCards: {
    method: 'POST', path: '/v1/pipes/{pipeId}/cards/batch', handler: { module: 'cards', export: 'batchCards' }, access: 'RW', role: 'member',
    summary: 'Create or update up to 50 cards, all-or-nothing (one transaction); a refusal lists every failing item by index', tag: 'Cards',
    request: { params: pipeParams, body: items.BatchCards }, answers: [412], success: { status: 200, description: 'The cards as written, in request order', schema: items.BatchCardsResult },
  },
  getCard: {
    method: 'GET', path: '/v1/cards/{cardId}', handler: { module: 'cards', export: 'getCard' }, access: 'RO', role: 'viewer',
    summary: 'Get a card with its parents and children (the card header), in one read', tag: 'Cards', request: { params: cardParams }, success: { status: 200, description: 'The card', schema: s.CardWithConnections, etag: true },
  },
  updateCard: {
    method: 'PATCH', path: '/v1/cards/{cardId}', handler: { module: 'cards', export: 'updateCard' }, access: 'RW', role: 'member',
    summary: 'Update field values (merged; null clears)', tag: 'Cards',
    request: { params: cardParams, body: s.UpdateCard }, ifMatch: true, success: { status: 200, description: 'The card', schema: s.Card, etag: true },
  },
  moveCard: {
    method: 'POST', path: '/v1/cards/{cardId}/move', handler: { module: 'cards', export: 'moveCard' }, access: 'RW', role: 'member',
    summary: 'Move a card to another phase', tag: 'Cards',
    request: { params: cardParams, body: s.MoveCard }, ifMatch: true, success: { status: 200, description: 'The card', schema: s.Card, etag: true },
  },
  deleteCard: {
    method: 'DELETE', path: '/v1/cards/{cardId}', handler: { module: 'cards', export: 'deleteCard' }, access: 'RW', role: 'member',
    summary: 'Delete a card, and what its cascade policies take with it (204, or 202 with a job for large cascades)', tag: 'Cards', request: { params: cardParams }, ifMatch: true, success: noContent, accepted: acceptedDelete,
  },

  createDatabase: {
    method: 'POST', path: '/v1/databases', handler: { module: 'databases', export: 'createDatabase' }, access: 'RW', role: 'admin',
    summary: 'Create a database with its fields', tag: 'Databases',
    request: { body: s.CreateDatabase }, success: { status: 201, description: 'Created', schema: s.Database, etag: true },
  },
  listDatabases: {
    method: 'GET', path: '/v1/databases', handler: { module: 'databases', export: 'listDatabases' }, access: 'RO', role: 'viewer',
    summary: 'List databases', tag: 'Databases',
    request: { query: s.Pagination }, success: { status: 200, description: 'A page of databases', schema: s.page(s.DatabaseSummary, 'DatabasePage') },
  },
  getDatabase: {
    method: 'GET', path: '/v1/databases/{databaseId}', handler: { module: 'databases', export: 'getDatabase' }, access: 'RO', role: 'viewer',
    summary: 'Get a database with its fields', tag: 'Databases',
    request: { params: dbParams }, success: { status: 200, description: 'The database', schema: s.Database, etag: true },
  },
  updateDatabase: {
    method: 'PATCH', path: '/v1/databases/{databaseId}', handler: { module: 'databases', export: 'updateDatabase' }, access: 'RW', role: 'admin',
    summary: 'Rename a database or choose its title field', tag: 'Databases',
    request: { params: dbParams, body: s.UpdateDatabase }, ifMatch: true, success: { status: 200, description: 'The database', schema: s.Database, etag: true },
  },
  deleteDatabase: {
    method: 'DELETE', path: '/v1/databases/{databaseId}', handler: { module: 'databases', export: 'deleteDatabase' }, access: 'RW', role: 'admin',
    summary: 'Delete a database that has no records', tag: 'Databases', request: { params: dbParams }, ifMatch: true, success: noContent,
  },
  createDatabaseField: {
    method: 'POST', path: '/v1/databases/{databaseId}/fields', handler: { module: 'databases', export: 'createDatabaseField' }, access: 'RW', role: 'admin',
    summary: 'Add a field', tag: 'Databases',
    request: { params: dbParams, body: s.CreateDatabaseField }, ifMatch: true, success: { status: 201, description: 'The field', schema: s.Field },
  },
  updateDatabaseField: {
    method: 'PATCH', path: '/v1/databases/{databaseId}/fields/{fieldId}', handler: { module: 'databases', export: 'updateDatabaseField' }, access: 'RW', role: 'admin',
    summary: 'Change a field (its type is fixed)', tag: 'Databases',
    request: { params: dbFieldParams, body: s.UpdateField }, ifMatch: true, success: { status: 200, description: 'The field', schema: s.Field },
  },
  deleteDatabaseField: {
    method: 'DELETE', path: '/v1/databases/{databaseId}/fields/{fieldId}', handler: { module: 'databases', export: 'deleteDatabaseField' }, access: 'RW', role: 'admin',
    summary: 'Delete a field', tag: 'Databases', request: { params: dbFieldParams }, ifMatch: true, success: noContent,
  },

  createRecord: {
    method: 'POST', path: '/v1/databases/{databaseId}/records', handler: { module: 'records', export: 'createRecord' }, access: 'RW', role: 'member',
    summary: 'Create a record', tag: 'Records',
    request: { params: dbParams, body: s.CreateRecord }, success: { status: 201, description: 'The record', schema: s.DbRecord, etag: true },
  },
  listRecords: {
    method: 'GET', path: '/v1/databases/{databaseId}/records', handler: { module: 'records', export: 'listRecords' }, access: 'RO', role: 'viewer',
    summary: 'List, filter and sort the records of a database, or sync its changes (updatedSince)', tag: 'Records',
    request: { params: dbParams, query: items.ListRecordsQuery }, success: { status: 200, description: 'A page of records', schema: items.RecordListPage },
  },
  batchRecords: {
    method: 'POST', path: '/v1/databases/{databaseId}/records/batch', handler: { module: 'records', export: 'batchRecords' }, access: 'RW', role: 'member',
    summary: 'Create or update up to 50 records, all-or-nothing (one transaction); a refusal lists every failing item by index', tag: 'Records',
    request: { params: dbParams, body: items.BatchRecords }, answers: [412], success: { status: 200, description: 'The records as written, in request order', schema: items.BatchRecordsResult },
  },
  getRecord: {
    method: 'GET', path: '/v1/records/{recordId}', handler: { module: 'records', export: 'getRecord' }, access: 'RO', role: 'viewer',
    summary: 'Get a record with its parents and children, in one read', tag: 'Records', request: { params: recordParams }, success: { status: 200, description: 'The record', schema: s.RecordWithConnections, etag: true },
  },
  updateRecord: {
    method: 'PATCH', path: '/v1/records/{recordId}', handler: { module: 'records', export: 'updateRecord' }, access: 'RW', role: 'member',
    summary: 'Update field values (merged; null clears)', tag: 'Records',
    request: { params: recordParams, body: s.UpdateRecord }, ifMatch: true, success: { status: 200, description: 'The record', schema: s.DbRecord, etag: true },
  },
  deleteRecord: {
    method: 'DELETE', path: '/v1/records/{recordId}', handler: { module: 'records', export: 'deleteRecord' }, access: 'RW', role: 'member',
    summary: 'Delete a record, and what its cascade policies take with it (204, or 202 with a job for large cascades)', tag: 'Records', request: { params: recordParams }, ifMatch: true, success: noContent, accepted: acceptedDelete,
  },

  createConnection: {
    method: 'POST', path: '/v1/connections', handler: { module: 'connections', export: 'createConnection' }, access: 'RW', role: 'admin',
    summary: 'Connect a parent pipe or database to a child pipe or database', tag: 'Connections',
    request: { body: s.CreateConnection }, success: { status: 201, description: 'The connection', schema: s.Connection, etag: true },
  },
  listConnections: {
    method: 'GET', path: '/v1/connections', handler: { module: 'connections', export: 'listConnections' }, access: 'RO', role: 'viewer',
    summary: 'List connections, of the organization or of one pipe or database (either side)', tag: 'Connections',
    request: { query: s.ListConnectionsQuery }, success: { status: 200, description: 'A page of connections', schema: s.page(s.Connection, 'ConnectionPage') },
  },
  getConnection: {
    method: 'GET', path: '/v1/connections/{connectionId}', handler: { module: 'connections', export: 'getConnection' }, access: 'RO', role: 'viewer',
    summary: 'Get a connection', tag: 'Connections',
    request: { params: connectionParams }, success: { status: 200, description: 'The connection', schema: s.Connection, etag: true },
  },
  updateConnection: {
    method: 'PATCH', path: '/v1/connections/{connectionId}', handler: { module: 'connections', export: 'updateConnection' }, access: 'RW', role: 'admin',
    summary: 'Change a connection (its parent and child are fixed)', tag: 'Connections',
    request: { params: connectionParams, body: s.UpdateConnection }, ifMatch: true, success: { status: 200, description: 'The connection', schema: s.Connection, etag: true },
  },
  deleteConnection: {
    method: 'DELETE', path: '/v1/connections/{connectionId}', handler: { module: 'connections', export: 'deleteConnection' }, access: 'RW', role: 'admin',
    summary: 'Delete a connection (409 while it joins items, unless ?cascade=true)', tag: 'Connections',
    request: { params: connectionParams, query: s.DeleteConnectionQuery }, ifMatch: true, success: noContent,
  },
  connectionCandidates: {
    method: 'GET', path: '/v1/connections/{connectionId}/candidates', handler: { module: 'connections', export: 'connectionCandidates' }, access: 'RO', role: 'viewer',
    summary: 'Connectable children by title prefix, marking those already connected to the parent', tag: 'Connections',
    request: { params: connectionParams, query: s.CandidatesQuery }, success: { status: 200, description: 'A page of candidates', schema: s.page(s.Candidate, 'CandidatePage') },
  },
  addCardChild: {
    method: 'POST', path: '/v1/cards/{cardId}/children', handler: { module: 'children', export: 'addCardChild' }, access: 'RW', role: 'member',
    summary: 'Connect an existing child, or create one from this card (the card\'s version, its ETag, moves on; If-Match guards it)', tag: 'Connections',
    request: { params: cardParams, body: s.ConnectChild }, ifMatch: true, success: { status: 201, description: 'The connected child (connect) or the new child (create)', schema: s.AddedChild },
  },
  listCardChildren: {
    method: 'GET', path: '/v1/cards/{cardId}/children', handler: { module: 'children', export: 'listCardChildren' }, access: 'RO', role: 'viewer',
    summary: 'Page through the children of a card through one connection', tag: 'Connections',
    request: { params: cardParams, query: s.ChildrenQuery }, success: { status: 200, description: 'A page of children', schema: s.page(s.ConnectedItem, 'ChildPage') },
  },
  removeCardChild: {
    method: 'DELETE', path: '/v1/cards/{cardId}/children/{childId}', handler: { module: 'children', export: 'removeCardChild' }, access: 'RW', role: 'member',
    summary: 'Disconnect a child', tag: 'Connections',
    request: { params: cardChildParams, query: s.RemoveChildQuery }, ifMatch: true, success: noContent,
  },
  addRecordChild: {
    method: 'POST', path: '/v1/records/{recordId}/children', handler: { module: 'children', export: 'addRecordChild' }, access: 'RW', role: 'member',
    summary: 'Connect an existing child, or create one from this record (the record\'s version, its ETag, moves on; If-Match guards it)', tag: 'Connections',
    request: { params: recordParams, body: s.ConnectChild }, ifMatch: true, success: { status: 201, description: 'The connected child (connect) or the new child (create)', schema: s.AddedChild },
  },
  listRecordChildren: {
    method: 'GET', path: '/v1/records/{recordId}/children', handler: { module: 'children', export: 'listRecordChildren' }, access: 'RO', role: 'viewer',
    summary: 'Page through the children of a record through one connection', tag: 'Connections',
    request: { params: recordParams, query: s.ChildrenQuery }, success: { status: 200, description: 'A page of children', schema: s.page(s.ConnectedItem, 'RecordChildPage') },
  },
  removeRecordChild: {
    method: 'DELETE', path: '/v1/records/{recordId}/children/{childId}', handler: { module: 'children', export: 'removeRecordChild' }, access: 'RW', role: 'member',
    summary: 'Disconnect a child', tag: 'Connections',
    request: { params: recordChildParams, query: s.RemoveChildQuery }, ifMatch: true, success: noContent,
  },
  ...automationRoutes,
  ...webhookRoutes,
  ...tokenRoutes,
  ...jobRoutes,
  ...activityRoutes,
} satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof routes;

export const routeList: Array<RouteSpec & { id: RouteId }> = Object.entries(routes).map(([id, spec]) => ({
  id: id as RouteId,
  ...(spec as RouteSpec),
}));
