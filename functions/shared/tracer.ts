/**
 * X-Ray tracing with Powertools Tracer, loaded only when an invocation is to be traced.
 *
 * Why lazily: the Tracer pulls in aws-xray-sdk-core, and that SDK, once evaluated, enables an
 * async_hooks hook (cls-hooked) that runs on every promise of the container for the rest of its
 * life, traced or not. So the Tracer module is imported (deployed: a file beside the bundle, see
 * TRACER_MODULE) on the first invocation that
 * - runs where Powertools itself would trace (in Lambda: AWS_EXECUTION_ENV set, not SAM local or
 *   Amplify mock; POWERTOOLS_TRACE_ENABLED not "false" — the local runtime and tests set "false"),
 * - and is sampled (`Sampled=1` in the invocation's trace header; an unsampled invocation sends
 *   no segments, and the SDK's own recursion-detection middleware still forwards the header).
 * Containers that only serve unsampled requests never load it; from the first sampled request on
 * every invocation goes through Powertools' middleware as before. The AWS SDK clients registered
 * with `traced` (and the DynamoDB client) are captured then, so their calls become subsegments.
 */
import { isRequestXRaySampled } from '@aws-lambda-powertools/commons/utils/env';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { MiddlewareObj, Request } from '@middy/core';
import { dynamoClient } from '../../domain/kernel/client';
import { logger } from './logger';

/** Powertools Tracer's own rule for "tracing enabled" (Tracer#setTracingEnabled), read once per container. */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env['POWERTOOLS_TRACE_ENABLED'] ?? '').trim().toLowerCase() === 'false') return false;
  const executionEnv = (env['AWS_EXECUTION_ENV'] ?? '').trim();
  return executionEnv !== '' && executionEnv !== 'AWS_Lambda_amplify-mock' && (env['AWS_SAM_LOCAL'] ?? '').trim() === '';
}

const ENABLED = tracingEnabled();

type Middleware = MiddlewareObj<unknown, unknown, Error>;

/**
 * Where the Tracer comes from. In a bundle it is the file beside it (TRACER_CHUNK in
 * infra/bundling/options.ts): a path esbuild cannot follow, so the X-Ray SDK's ~125 KB and their
 * source map stay out of what every cold start parses. From source (tests, npm start), the module.
 */
const TRACER_MODULE = import.meta.url.endsWith('.ts') ? './xray-tracer.ts' : './xray-tracer.mjs';

// The document client shares the DynamoDB client's middleware stack: capturing it traces both.
const pending: object[] = [dynamoClient];
let tracer: Tracer | undefined;
let middleware: Middleware | undefined;
let loading: Promise<Middleware | undefined> | undefined;

async function load(): Promise<Middleware | undefined> {
  try {
    const { Tracer, captureLambdaHandler } = (await import(TRACER_MODULE)) as typeof import('./xray-tracer');
    const instance = new Tracer({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'cardflow' });
    for (const client of pending.splice(0)) instance.captureAWSv3Client(client);
    tracer = instance;
    // No response capture: bodies hold customer data, which has no place in traces.
    middleware = captureLambdaHandler(instance, { captureResponse: false }) as Middleware;
    return middleware;
  } catch (error) {
    // Tracing must never take a request down: say so once and serve untraced.
    logger.warn('X-Ray tracing unavailable; serving untraced', { error: error as Error });
    return undefined;
  }
}

/** Whether this container has loaded the Tracer (tests, the bench). */
export const tracerLoaded = (): boolean => tracer !== undefined;

/** Traces an AWS SDK client (EventBridge, KMS, SQS): call once, where the client is built. */
export function traced<T extends object>(client: T): T {
  if (tracer) return tracer.captureAWSv3Client(client);
  if (ENABLED) pending.push(client);
  return client;
}

/**
 * The middy middleware every Lambda handler uses in place of Powertools' captureLambdaHandler:
 * the same `## handler` subsegment, ColdStart and Service annotations and error metadata, once
 * the Tracer is loaded (see above).
 */
export function captureHandler<E = unknown, R = unknown>(): MiddlewareObj<E, R, Error> {
  const opened = new WeakSet<object>();
  type Req = Request<E, R, Error>;
  const inner = (request: Req) => request as unknown as Request<unknown, unknown, Error>;
  return {
    before: async (request: Req) => {
      if (!middleware) {
        if (!ENABLED || !isRequestXRaySampled()) return;
        loading ??= load();
        if (!(await loading)) return;
      }
      opened.add(request);
      await middleware!.before?.(inner(request));
    },
    after: async (request: Req) => {
      if (opened.has(request)) await middleware!.after?.(inner(request));
    },
    onError: async (request: Req) => {
      if (opened.has(request)) await middleware!.onError?.(inner(request));
    },
  };
}
