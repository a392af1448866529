/** The cards area's Lambda entry (see functions/api/areas.ts); it also answers for cascade jobs. */
import { areaHandler } from '../area-handler';
import { cardRoutes } from '../routes-cards';
import { jobRoutes } from '../routes-jobs';
import * as cards from '../cards';
import * as jobs from '../jobs';

export const handler = areaHandler('cards', { cards, jobs }, [cardRoutes, jobRoutes]);
