import * as pipes from '../../domain/pipes/pipes';
import { contextFor } from '../shared/store';
import { apiHandler, ifMatchVersion } from './http';
import { pipeRoutes as routes } from './routes-pipes';

export const createPipe = apiHandler(routes.createPipe, async ({ principal, body }) => {
  const pipe = await pipes.createPipe(contextFor(principal), body);
  return { body: pipe, version: pipe.version, headers: { location: `/v1/pipes/${pipe.id}` } };
});

export const listPipes = apiHandler(routes.listPipes, async ({ principal, query }) => ({
  body: await pipes.listPipes(contextFor(principal), query),
}));

export const getPipe = apiHandler(routes.getPipe, async ({ principal, params }) => {
  const pipe = await pipes.getPipe(contextFor(principal), params.pipeId);
  return { body: pipe, version: pipe.version };
});

export const updatePipe = apiHandler(routes.updatePipe, async ({ principal, params, body, headers }) => {
  const pipe = await pipes.updatePipe(contextFor(principal), params.pipeId, body, ifMatchVersion(headers));
  return { body: pipe, version: pipe.version };
});

export const deletePipe = apiHandler(routes.deletePipe, async ({ principal, params, headers }) => {
  await pipes.deletePipe(contextFor(principal), params.pipeId, ifMatchVersion(headers));
  return {};
});

export const createPhase = apiHandler(routes.createPhase, async ({ principal, params, body, headers }) => {
  const pipe = await pipes.createPhase(contextFor(principal), params.pipeId, body, ifMatchVersion(headers));
  return { body: pipe, version: pipe.version };
});

export const updatePhase = apiHandler(routes.updatePhase, async ({ principal, params, body, headers }) => {
  const pipe = await pipes.updatePhase(contextFor(principal), params.pipeId, params.phaseId, body, ifMatchVersion(headers));
  return { body: pipe, version: pipe.version };
});

export const deletePhase = apiHandler(routes.deletePhase, async ({ principal, params, headers }) => {
  await pipes.deletePhase(contextFor(principal), params.pipeId, params.phaseId, ifMatchVersion(headers));
  return {};
});

export const createPipeField = apiHandler(routes.createPipeField, async ({ principal, params, body, headers }) => ({
  body: await pipes.createPipeField(contextFor(principal), params.pipeId, body, ifMatchVersion(headers)),
}));

export const updatePipeField = apiHandler(routes.updatePipeField, async ({ principal, params, body, headers }) => ({
  body: await pipes.updatePipeField(contextFor(principal), params.pipeId, params.fieldId, body, ifMatchVersion(headers)),
}));

export const deletePipeField = apiHandler(routes.deletePipeField, async ({ principal, params, headers }) => {
  await pipes.deletePipeField(contextFor(principal), params.pipeId, params.fieldId, ifMatchVersion(headers));
  return {};
});
