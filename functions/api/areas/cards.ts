/** The cards area's Lambda entry (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import * as cards from '../cards';

export const handler = areaHandler('cards', { cards });
