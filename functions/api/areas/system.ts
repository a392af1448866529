/** The system area's Lambda entry (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import { systemRoutes } from '../routes-system';
import * as system from '../system';

export const handler = areaHandler('system', { system }, [systemRoutes]);
