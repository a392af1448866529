/** The activity area's Lambda entry (see functions/api/areas.ts): item history and the audit trail, read-only. */
import * as activity from '../activity';
import { areaHandler } from '../area-handler';

export const handler = areaHandler('activity', { activity });
