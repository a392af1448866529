/** The tokens area's Lambda entry: API tokens for machines (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import * as tokens from '../tokens';

export const handler = areaHandler('tokens', { tokens });
