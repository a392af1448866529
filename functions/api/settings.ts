import * as settings from '../../domain/settings/settings';
import { contextFor } from '../shared/store';
import { apiHandler, ifMatchVersion } from './http';
import { activityRoutes as routes } from './routes-activity';

export const getSettings = apiHandler(routes.getSettings, async ({ principal }) => {
  const current = await settings.getSettings(contextFor(principal));
  return { body: current, version: current.version };
});

export const updateSettings = apiHandler(routes.updateSettings, async ({ principal, body, headers }) => {
  const next = await settings.updateSettings(contextFor(principal), body, ifMatchVersion(headers));
  return { body: next, version: next.version };
});
