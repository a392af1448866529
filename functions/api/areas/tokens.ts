/** The tokens area's Lambda entry: API tokens for machines and the organization's settings (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import { tokenRoutes } from '../routes-tokens';
import { activityRoutes } from '../routes-activity';
import * as settings from '../settings';
import * as tokens from '../tokens';

export const handler = areaHandler('tokens', { tokens, settings }, [tokenRoutes, activityRoutes]);
