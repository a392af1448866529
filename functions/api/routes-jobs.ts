/** Routes of jobs (durable cascade deletes); merged into the route manifest (functions/api/routes.ts). */
import * as s from './schemas';
import { deferred, once } from './lazy';
import { z } from './schemas';
import { defineRoutes, type RouteSpec } from './route-spec';

const Timestamp = /* @__PURE__ */ once(() => z.string().openapi({ format: 'date-time', example: '2026-11-27T09:30:00.000Z' }));

export const Job = /* @__PURE__ */ once(() =>
  z
    .object({
      id: s.Id('job'),
      kind: z.literal('delete'),
      status: z.enum(['running', 'succeeded', 'refused']).openapi({
        description: 'running until every item is deleted (succeeded) or the delete is refused with nothing deleted (refused; see error).',
      }),
      phase: z.enum(['mark', 'delete', 'unmark', 'done']).openapi({
        description:
          'mark: the items are being marked (reads of them answer 404 from now on); delete: they are being deleted (no way back); unmark: a refused delete gives them back; done.',
      }),
      target: z.object({ type: z.enum(['card', 'record']), id: z.string() }).openapi({ description: 'The item whose DELETE started the job.' }),
      total: z.number().int().openapi({ description: 'Items the delete removes, the target included.' }),
      deleted: z.number().int().openapi({ description: 'Items deleted so far.' }),
      error: z.object({ code: z.string(), detail: z.string() }).catchall(z.unknown()).optional().openapi({
        description: 'Why a refused delete was refused (as a problem: code connection.deleteBlocked, resource.concurrentChange or resource.deleting).',
      }),
      createdAt: Timestamp(),
      updatedAt: Timestamp(),
      finishedAt: Timestamp().optional(),
    })
    .openapi('Job'),
);

const jobParams = /* @__PURE__ */ once(() => z.strictObject({ jobId: s.Id('job') }));

/** The answer of a DELETE that cascades beyond one transaction: 202, Location: /v1/jobs/{jobId}. */
export const acceptedDelete = deferred({
  status: 202 as const,
  description:
    'The delete cascades to more than one transaction can hold: it goes on as a durable job. Follow it at the Location header (GET /v1/jobs/{jobId}); the item reads as 404 from now on.',
  schema: Job,
});

export const jobRoutes = defineRoutes({
  getJob: {
    method: 'GET',
    path: '/v1/jobs/{jobId}',
    handler: { module: 'jobs', export: 'getJob' },
    access: 'RO',
    role: 'viewer',
    summary: 'Follow a job: a cascading delete that answered 202',
    tag: 'Jobs',
    request: deferred({ params: jobParams }),
    success: deferred({ status: 200, description: 'The job', schema: Job }),
  },
} satisfies Record<string, RouteSpec>);
