/**
 * Powertools Tracer and its middleware: what functions/shared/tracer.ts loads on the first
 * sampled invocation. Deployed, this module is a file of its own beside each bundle
 * (xray-tracer.mjs, infra/bundling/options.ts), so the X-Ray SDK it pulls in is neither parsed
 * nor source-mapped on a cold start that is not traced.
 */
export { Tracer } from '@aws-lambda-powertools/tracer';
export { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
