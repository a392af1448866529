import { getJob as readJob } from '../../domain/connections/cascade';
import { contextFor } from '../shared/store';
import { apiHandler } from './http';
import { jobRoutes as routes } from './routes-jobs';

export const getJob = apiHandler(routes.getJob, async ({ principal, params }) => ({
  body: await readJob(contextFor(principal), params.jobId),
}));
