import * as connections from '../../domain/connections/connections';
import { candidates } from '../../domain/connections/edges';
import { contextFor } from '../shared/store';
import { apiHandler, ifMatchVersion } from './http';
import { connectionRoutes as routes } from './routes-connections';

export const createConnection = apiHandler(routes.createConnection, async ({ principal, body }) => {
  const connection = await connections.createConnection(contextFor(principal), body);
  return { body: connection, version: connection.version, headers: { location: `/v1/connections/${connection.id}` } };
});

export const listConnections = apiHandler(routes.listConnections, async ({ principal, query }) => ({
  body: await connections.listConnections(contextFor(principal), query),
}));

export const getConnection = apiHandler(routes.getConnection, async ({ principal, params }) => {
  const connection = await connections.getConnection(contextFor(principal), params.connectionId);
  return { body: connection, version: connection.version };
});

export const updateConnection = apiHandler(routes.updateConnection, async ({ principal, params, body, headers }) => {
  const connection = await connections.updateConnection(contextFor(principal), params.connectionId, body, ifMatchVersion(headers));
  return { body: connection, version: connection.version };
});

export const deleteConnection = apiHandler(routes.deleteConnection, async ({ principal, params, query, headers }) => {
  await connections.deleteConnection(contextFor(principal), params.connectionId, query.cascade === 'true', ifMatchVersion(headers));
  return {};
});

export const connectionCandidates = apiHandler(routes.connectionCandidates, async ({ principal, params, query }) => ({
  body: await candidates(contextFor(principal), params.connectionId, query),
}));
