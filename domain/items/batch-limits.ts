/** Limits of batch writes, shared by the contract and the use case. */
export const MAX_BATCH_ITEMS = 50;
/** DynamoDB's limit of actions in one TransactWriteItems. */
export const MAX_TRANSACTION_ACTIONS = 100;
