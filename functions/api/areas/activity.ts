/** The activity area's Lambda entry (see functions/api/areas.ts): item history and the audit trail, read-only. */
import * as activity from '../activity';
import { areaHandler } from '../area-handler';
import { activityRoutes } from '../routes-activity';

export const handler = areaHandler('activity', { activity }, [activityRoutes]);
