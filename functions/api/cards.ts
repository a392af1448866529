import { batchWrite } from '../../domain/items/batch';
import { jobView } from '../../domain/connections/cascade';
import * as cards from '../../domain/cards/cards';
import { contextFor } from '../shared/store';
import { apiHandler, ifMatchVersion } from './http';
import { cardRoutes as routes } from './routes-cards';

export const createCard = apiHandler(routes.createCard, async ({ principal, params, body }) => {
  const card = await cards.createCard(contextFor(principal), params.pipeId, body);
  return { body: card, version: card.version, headers: { location: `/v1/cards/${card.id}` } };
});

export const listCards = apiHandler(routes.listCards, async ({ principal, params, query }) => ({
  body: await cards.listCards(contextFor(principal), params.pipeId, query),
}));

export const getCard = apiHandler(routes.getCard, async ({ principal, params }) => {
  const card = await cards.getCard(contextFor(principal), params.cardId);
  return { body: card, version: card.version };
});

export const updateCard = apiHandler(routes.updateCard, async ({ principal, params, body, headers }) => {
  const card = await cards.updateCard(contextFor(principal), params.cardId, body, ifMatchVersion(headers));
  return { body: card, version: card.version };
});

export const moveCard = apiHandler(routes.moveCard, async ({ principal, params, body, headers }) => {
  const card = await cards.moveCard(contextFor(principal), params.cardId, body.phaseId, ifMatchVersion(headers));
  return { body: card, version: card.version };
});

export const deleteCard = apiHandler(routes.deleteCard, async ({ principal, params, headers }) => {
  const outcome = await cards.deleteCard(contextFor(principal), params.cardId, ifMatchVersion(headers));
  if (outcome.done) return {};
  return { status: 202, body: jobView(outcome.job), headers: { location: `/v1/jobs/${outcome.job.id}` } };
});

export const batchCards = apiHandler(routes.batchCards, async ({ principal, params, body }) => ({
  body: await batchWrite(contextFor(principal), 'card', params.pipeId, body.items),
}));
