/**
 * One webhook POST: a fresh connection per attempt, no redirects followed, a hard timeout over
 * the whole exchange, and a DNS guard that refuses host names resolving to non-public addresses
 * (so a URL that passed validation cannot be pointed at the VPC, the metadata service or the
 * Lambda runtime later). Never throws: the outcome is a status code or an error message.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressAllowed, checkWebhookUrl, type AttemptResult, type UrlPolicy } from '../../domain/webhooks';

export const USER_AGENT = 'cardflow-webhooks/1';

function guardedLookup(policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as LookupAddress[];
      const refused = list.find((a) => !addressAllowed(a.address, policy));
      if (refused || !list.length) {
        return callback(Object.assign(new Error(`${hostname} resolves to a non-public address${refused ? ` (${refused.address})` : ''}`), { code: 'EADDRREFUSED' }), '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; policy: UrlPolicy },
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const problem = checkWebhookUrl(url, options.policy);
  if (problem) return Promise.resolve({ error: `URL refused: ${problem}`, durationMs: 0 });
  const target = new URL(url);
  const requestOptions: RequestOptions = {
    method: 'POST',
    agent: false,
    lookup: guardedLookup(options.policy),
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': USER_AGENT,
      ...headers,
    },
  };
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const finish = (result: Omit<AttemptResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, durationMs: elapsed() });
    };
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, requestOptions, (res) => {
      finish({ statusCode: res.statusCode ?? 0 });
      // Only the status matters; the body is not read.
      res.destroy();
    });
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message }));
    req.end(body);
  });
}
