/** The automations area's Lambda entry (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import { automationRoutes } from '../routes-automations';
import * as automations from '../automations';

export const handler = areaHandler('automations', { automations }, [automationRoutes]);
