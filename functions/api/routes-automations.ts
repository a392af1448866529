/** Routes of automations; merged into the route manifest (functions/api/routes.ts). */
import * as s from './schemas';
import { deferred, once } from './lazy';
import { z } from './schemas';
import { defineRoutes, type RouteSpec } from './route-spec';

const automationParams = /* @__PURE__ */ once(() => z.strictObject({ automationId: s.Id('automation') }));

export const automationRoutes = defineRoutes({
  createAutomation: {
    method: 'POST',
    path: '/v1/automations',
    handler: { module: 'automations', export: 'createAutomation' },
    access: 'RW',
    role: 'admin',
    summary: 'Create an automation: when a trigger fires on a card of the pipe, run an action',
    tag: 'Automations',
    request: deferred({ body: s.CreateAutomation }),
    success: deferred({ status: 201, description: 'The automation', schema: s.Automation, etag: true }),
  },
  listAutomations: {
    method: 'GET',
    path: '/v1/automations',
    handler: { module: 'automations', export: 'listAutomations' },
    access: 'RO',
    role: 'viewer',
    summary: 'List the automations of a pipe, or of the whole organization without pipeId',
    tag: 'Automations',
    request: deferred({ query: s.ListAutomationsQuery }),
    success: deferred({ status: 200, description: 'A page of automations', schema: () => s.page(s.Automation(), 'AutomationPage') }),
  },
  getAutomation: {
    method: 'GET',
    path: '/v1/automations/{automationId}',
    handler: { module: 'automations', export: 'getAutomation' },
    access: 'RO',
    role: 'viewer',
    summary: 'Get an automation',
    tag: 'Automations',
    request: deferred({ params: automationParams }),
    success: deferred({ status: 200, description: 'The automation', schema: s.Automation, etag: true }),
  },
  updateAutomation: {
    method: 'PATCH',
    path: '/v1/automations/{automationId}',
    handler: { module: 'automations', export: 'updateAutomation' },
    access: 'RW',
    role: 'admin',
    summary: 'Rename, switch on or off, or change the trigger or action of an automation (its pipe is fixed)',
    tag: 'Automations',
    request: deferred({ params: automationParams, body: s.UpdateAutomation }),
    ifMatch: true,
    success: deferred({ status: 200, description: 'The automation', schema: s.Automation, etag: true }),
  },
  deleteAutomation: {
    method: 'DELETE',
    path: '/v1/automations/{automationId}',
    handler: { module: 'automations', export: 'deleteAutomation' },
    access: 'RW',
    role: 'admin',
    summary: 'Delete an automation',
    tag: 'Automations',
    request: deferred({ params: automationParams }),
    ifMatch: true,
    success: { status: 204, description: 'Deleted' },
  },
  listAutomationRuns: {
    method: 'GET',
    path: '/v1/automations/{automationId}/runs',
    handler: { module: 'automations', export: 'listAutomationRuns' },
    access: 'RO',
    role: 'viewer',
    summary: 'The runs of an automation: one per trigger it fired on, with its status and, if it failed or was skipped, why',
    tag: 'Automations',
    request: deferred({ params: automationParams, query: s.Pagination }),
    success: deferred({ status: 200, description: 'A page of runs', schema: () => s.page(s.AutomationRun(), 'AutomationRunPage') }),
  },
} satisfies Record<string, RouteSpec>);
