/**
 * One webhook POST: a fresh connection per attempt, no redirects followed, a hard timeout over
 * the whole exchange, and a DNS guard against SSRF and DNS rebinding: the host name is resolved
 * once, every address it resolves to must be public (domain/webhooks/webhooks.ts, ipaddr.js), and the
 * connection goes to those checked addresses only — the socket's lookup is pinned to them, so a
 * second resolution can never swap in an internal address. TLS still verifies the host name
 * (SNI and certificate use the URL's host). Never throws: the outcome is a status code or an error.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { addressAllowed, checkWebhookUrl, type AttemptResult, type UrlPolicy } from '../../domain/webhooks/webhooks';

export const USER_AGENT = 'cardflow-webhooks/1';

/** The addresses a delivery may connect to, or why it may not connect at all. */
export async function resolveChecked(hostname: string, policy: UrlPolicy): Promise<LookupAddress[] | string> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  let list: LookupAddress[];
  if (isIP(host)) list = [{ address: host, family: isIP(host) }];
  else {
    try {
      list = await dnsLookup(host, { all: true, verbatim: true });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      return `${e.code ?? 'DNS'}: ${e.message}`;
    }
  }
  if (!list.length) return `${host} does not resolve`;
  const refused = list.find((a) => !addressAllowed(a.address, policy));
  if (refused) return `EADDRREFUSED: ${host} resolves to a non-public address (${refused.address})`;
  return list;
}

/** A lookup that answers with the already checked addresses and never asks DNS again. */
function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const family = (options as { family?: number }).family;
    const pick = addresses.find((a) => !family || a.family === family) ?? addresses[0]!;
    return callback(null, pick.address, pick.family);
  };
}

export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; policy: UrlPolicy },
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const problem = checkWebhookUrl(url, options.policy);
  if (problem) return { error: `URL refused: ${problem}`, durationMs: 0 };
  const target = new URL(url);
  const addresses = await resolveChecked(target.hostname, options.policy);
  if (typeof addresses === 'string') return { error: addresses, durationMs: elapsed() };
  const requestOptions: RequestOptions = {
    method: 'POST',
    agent: false,
    lookup: pinnedLookup(addresses),
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
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ error: error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message }),
    );
    req.end(body);
  });
}
