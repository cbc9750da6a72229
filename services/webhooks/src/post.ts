import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPublicAddress, type TargetPolicy } from '@postline/runtime';

export interface PostResult {
  /** The receiver's HTTP status; null when none came (refused, timed out, not allowed). */
  status: number | null;
  error: string | null;
  latencyMs: number;
}

/** A receiver's answer beyond this is not read (it is not used; only the status is). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs one delivery. The connection may only go to an address `policy` allows, checked on the
 * address resolved now (guardedLookup) or on the literal IP in the URL; redirects are not
 * followed (a 3xx is a failed attempt), and the whole exchange is bounded by `timeoutMs`.
 */
export function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  policy: TargetPolicy,
  timeoutMs: number,
): Promise<PostResult> {
  const started = performance.now();
  const done = (status: number | null, error: string | null): PostResult => ({ status, error, latencyMs: performance.now() - started });
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve(done(null, 'invalid URL'));
  }
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivate && isIP(host) && !isPublicAddress(host)) {
    return Promise.resolve(done(null, `${host} is not a public address`));
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'postline-webhooks/1',
          ...headers,
        },
        lookup: guardedLookup(policy) as never,
        agent: false,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        response.on('close', () => resolve(done(response.statusCode ?? null, null)));
        response.on('error', () => {});
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve(done(null, error.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : `${error.code ?? 'error'}: ${error.message}`)),
    );
    request.end(body);
  });
}
