/** The databases area's Lambda entry: databases and their records (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import { databaseRoutes } from '../routes-databases';
import * as databases from '../databases';
import * as records from '../records';

export const handler = areaHandler('databases', { databases, records }, [databaseRoutes]);
