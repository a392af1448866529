/** The connections area's Lambda entry: connections and the children they join (see functions/api/areas.ts). */
import { areaHandler } from '../area-handler';
import { connectionRoutes } from '../routes-connections';
import * as children from '../children';
import * as connections from '../connections';

export const handler = areaHandler('connections', { connections, children }, [connectionRoutes]);
