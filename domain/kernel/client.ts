/**
 * The DynamoDB clients, created once per container. Locally the SDK reads
 * AWS_ENDPOINT_URL_DYNAMODB by itself: configuration is the only difference from AWS.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { stampActorOnWrites } from './actor';

export const dynamoClient = new DynamoDBClient({});
// Every Put and Update carries who made it (domain/kernel/actor.ts): activity and audit read it from the stream.
stampActorOnWrites(dynamoClient);

export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  unmarshallOptions: { wrapNumbers: false },
});
