import { addChild } from '../../domain/connections/children';
import { disconnect, listChildren } from '../../domain/connections/edges';
import type { ItemType } from '../../domain/kernel/model';
import { contextFor } from '../shared/store';
import { apiHandler, ifMatchVersion, type ApiRequest } from './http';
import type { RouteSpec } from './route-spec';
import { connectionRoutes as routes } from './routes-connections';

const parentOf = (type: ItemType, params: { cardId?: string; recordId?: string }) => (type === 'card' ? params.cardId! : params.recordId!);

function add<R extends RouteSpec>(type: ItemType, route: R) {
  return apiHandler(route, async ({ principal, params, body, headers }: ApiRequest<R>) => {
    const result = await addChild(contextFor(principal!), type, parentOf(type, params as never), body as never, ifMatchVersion(headers));
    if (result.kind === 'connected') return { body: result.edge };
    const path = result.childType === 'card' ? `/v1/cards/${result.child.id}` : `/v1/records/${result.child.id}`;
    return { body: result.child, version: result.child.version, headers: { location: path } };
  });
}

function list<R extends RouteSpec>(type: ItemType, route: R) {
  return apiHandler(route, async ({ principal, params, query }: ApiRequest<R>) => ({
    body: await listChildren(contextFor(principal!), type, parentOf(type, params as never), query as never),
  }));
}

function remove<R extends RouteSpec>(type: ItemType, route: R) {
  return apiHandler(route, async ({ principal, params, query, headers }: ApiRequest<R>) => {
    const { childId } = params as { childId: string };
    await disconnect(
      contextFor(principal!),
      type,
      parentOf(type, params as never),
      (query as { connectionId: string }).connectionId,
      childId,
      ifMatchVersion(headers),
    );
    return {};
  });
}

export const addCardChild = add('card', routes.addCardChild);
export const listCardChildren = list('card', routes.listCardChildren);
export const removeCardChild = remove('card', routes.removeCardChild);
export const addRecordChild = add('record', routes.addRecordChild);
export const listRecordChildren = list('record', routes.listRecordChildren);
export const removeRecordChild = remove('record', routes.removeRecordChild);
