/**
 * Who writes: every item a request (or the system acting for someone) writes carries the writer
 * as `lastActor`, so the stream's old and new images say who made each change (activity and
 * audit are derived from them). The actor is set once per unit of work with `runAs`, from the
 * authorizer's verified context or by the system itself; a client-supplied claim never names
 * an automation. One middleware on the DynamoDB client stamps every Put and Update, so no write
 * path can forget it. Deletes carry no attributes; a delete's actor travels on the tombstone or
 * job it writes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export type Actor =
  | { type: 'user'; id: string }
  | { type: 'token'; id: string }
  | { type: 'automation'; id: string }
  | { type: 'propagation'; parentId: string; connectionId?: string }
  | { type: 'system' };

/** The item attribute the middleware writes. */
export const LAST_ACTOR = 'lastActor';

const current = new AsyncLocalStorage<Actor>();

/** Runs `work` with every write it makes stamped with `actor`. */
export function runAs<T>(actor: Actor, work: () => Promise<T>): Promise<T> {
  return current.run(actor, work);
}

export const currentActor = (): Actor | undefined => current.getStore();

type Value = Record<string, string>;
type PutInput = { Item?: Record<string, unknown> };
type UpdateInput = {
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
};

const NAME = '#cfLastActor';
const VALUE = ':cfLastActor';

function stampPut(put: PutInput, value: Value) {
  if (put.Item) put.Item = { ...put.Item, [LAST_ACTOR]: value };
}

function stampUpdate(update: UpdateInput, value: Value) {
  const expression = update.UpdateExpression;
  if (!expression || expression.includes(NAME)) return;
  // Our expressions spell their clauses in capitals; placeholders (#set, :set) never match.
  const set = /(?:^|\s)SET\s+/.exec(expression);
  update.UpdateExpression = set
    ? `${expression.slice(0, set.index + set[0].length)}${NAME} = ${VALUE}, ${expression.slice(set.index + set[0].length)}`
    : `SET ${NAME} = ${VALUE} ${expression}`;
  update.ExpressionAttributeNames = { ...update.ExpressionAttributeNames, [NAME]: LAST_ACTOR };
  update.ExpressionAttributeValues = { ...update.ExpressionAttributeValues, [VALUE]: value };
}

/** Stamps the write requests of one command input (as the document client was given it) with the current actor. */
export function stampWrites(commandName: string, input: Record<string, unknown>, actor: Actor): void {
  const value = { ...actor } as Value;
  switch (commandName) {
    case 'PutItemCommand':
      stampPut(input as PutInput, value);
      break;
    case 'UpdateItemCommand':
      stampUpdate(input as UpdateInput, value);
      break;
    case 'TransactWriteItemsCommand':
      for (const item of (input['TransactItems'] as Array<{ Put?: PutInput; Update?: UpdateInput }> | undefined) ?? []) {
        if (item.Put) stampPut(item.Put, value);
        if (item.Update) stampUpdate(item.Update, value);
      }
      break;
    case 'BatchWriteItemCommand':
      for (const requests of Object.values((input['RequestItems'] as Record<string, Array<{ PutRequest?: PutInput }>> | undefined) ?? {})) {
        for (const request of requests) if (request.PutRequest) stampPut(request.PutRequest, value);
      }
      break;
  }
}

/**
 * Adds the stamping middleware to a client, and so to the document client built from it (they
 * share one middleware stack). It runs before the document client marshalls its input, so it
 * writes plain values; the store only writes through the document client.
 */
export function stampActorOnWrites(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const actor = current.getStore();
      if (actor && args.input && typeof args.input === 'object') {
        stampWrites(String(context.commandName ?? ''), args.input as Record<string, unknown>, actor);
      }
      return next(args);
    },
    { step: 'serialize', priority: 'high', name: 'cardflowStampActor', override: true },
  );
}
