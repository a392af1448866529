/** The webhooks area's Lambda entry (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import { webhookRoutes } from '../routes-webhooks';
import * as webhooks from '../webhooks';

export const handler = areaHandler('webhooks', { webhooks }, [webhookRoutes]);
