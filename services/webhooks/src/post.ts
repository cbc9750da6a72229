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
 * An idle connection is closed after this, before the usual server-side idle close (Node's 5 s;
 * nginx 75 s), so we rarely write on one the receiver is closing; a shorter `Keep-Alive: timeout`
 * hint from the receiver wins (Node's agent reads it).
 */
const IDLE_MS = 4_000;

/** A reused connection that the receiver closed as we wrote on it: the request never got there. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

interface Attempt extends Omit<PostResult, 'latencyMs'> {
  /** Failed on a kept-alive connection before any answer: worth one more try on a new one. */
  stale: boolean;
}

/**
 * POSTs deliveries. A connection may only go to an address `policy` allows, checked on the
 * address resolved when it is opened (guardedLookup) or on the literal IP in the URL; redirects
 * are not followed (a 3xx is a failed attempt), and each exchange is bounded by `timeoutMs`.
 * Connections are kept alive per endpoint: a connection and, for https, a TLS handshake a
 * delivery cost both sides far more than the delivery (a POST on loopback: 100–130 µs of our CPU
 * on a new connection, 37–39 µs on a kept one). A kept connection stays on the address that was
 * allowed when it was opened, so a DNS answer that changes later is still checked before it is used.
 */
export class WebhookPoster {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo' }),
    https: new https.Agent({ keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo' }),
  };

  constructor(
    private readonly policy: TargetPolicy,
    private readonly timeoutMs: number,
  ) {}

  async post(url: string, headers: Record<string, string>, body: string): Promise<PostResult> {
    const started = performance.now();
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return { status: null, error: 'invalid URL', latencyMs: 0 };
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (!this.policy.allowPrivate && isIP(host) && !isPublicAddress(host)) {
      return { status: null, error: `${host} is not a public address`, latencyMs: 0 };
    }
    let attempt = await this.send(target, headers, body);
    if (attempt.stale) attempt = await this.send(target, headers, body);
    return { status: attempt.status, error: attempt.error, latencyMs: performance.now() - started };
  }

  /** Closes the kept connections; call after the last delivery. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private send(target: URL, headers: Record<string, string>, body: string): Promise<Attempt> {
    const [client, agent] = target.protocol === 'https:' ? [https, this.agents.https] : [http, this.agents.http];
    const done = (status: number | null, error: string | null, stale = false): Attempt => ({ status, error, stale });
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
          lookup: guardedLookup(this.policy) as never,
          agent,
          signal: AbortSignal.timeout(this.timeoutMs),
        },
        (response) => {
          let read = 0;
          response.on('data', (chunk: Buffer) => {
            read += chunk.length;
            // Destroyed, the connection is not kept either.
            if (read > MAX_RESPONSE_BYTES) response.destroy();
          });
          response.on('close', () => resolve(done(response.statusCode ?? null, null)));
          response.on('error', () => {});
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error.name === 'AbortError') return resolve(done(null, `no answer within ${this.timeoutMs} ms`));
        resolve(done(null, `${error.code ?? 'error'}: ${error.message}`, request.reusedSocket && STALE_SOCKET.has(error.code ?? '')));
      });
      request.end(body);
    });
  }
}
