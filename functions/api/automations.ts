import type { Principal } from '../../domain/kernel/auth';
import { AutomationStore } from '../../domain/automations/store';
import * as automations from '../../domain/automations/automations';
import { documentClient } from '../../domain/kernel/client';
import { contextFor, store } from '../shared/store';
import { apiHandler, ifMatchVersion } from './http';
import { automationRoutes as routes } from './routes-automations';

const repository = new AutomationStore(documentClient, store.table);
const contextOf = (principal: Principal): automations.AutomationContext => ({ ...contextFor(principal), automations: repository });

export const createAutomation = apiHandler(routes.createAutomation, async ({ principal, body }) => {
  const automation = await automations.createAutomation(contextOf(principal), body);
  return { body: automation, version: automation.version, headers: { location: `/v1/automations/${automation.id}` } };
});

export const listAutomations = apiHandler(routes.listAutomations, async ({ principal, query }) => ({
  body: await automations.listAutomations(contextOf(principal), query),
}));

export const getAutomation = apiHandler(routes.getAutomation, async ({ principal, params }) => {
  const automation = await automations.getAutomation(contextOf(principal), params.automationId);
  return { body: automation, version: automation.version };
});

export const updateAutomation = apiHandler(routes.updateAutomation, async ({ principal, params, body, headers }) => {
  const automation = await automations.updateAutomation(contextOf(principal), params.automationId, body, ifMatchVersion(headers));
  return { body: automation, version: automation.version };
});

export const deleteAutomation = apiHandler(routes.deleteAutomation, async ({ principal, params, headers }) => {
  await automations.deleteAutomation(contextOf(principal), params.automationId, ifMatchVersion(headers));
  return {};
});

export const listAutomationRuns = apiHandler(routes.listAutomationRuns, async ({ principal, params, query }) => ({
  body: await automations.listAutomationRuns(contextOf(principal), params.automationId, query),
}));
