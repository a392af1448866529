/** The pipes area's Lambda entry (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import { pipeRoutes } from '../routes-pipes';
import * as pipes from '../pipes';

export const handler = areaHandler('pipes', { pipes }, [pipeRoutes]);
