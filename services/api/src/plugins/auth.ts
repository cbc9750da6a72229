import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AuthFailures } from '../auth-failures.js';
import type { ApiConfig } from '../config.js';
import { AuthThrottledError, UnauthorizedError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated API key's name. */
    account: string;
  }
  interface FastifyContextConfig {
    /** A send route: it charges the key's email rate limit for the emails it carries, not its request limit. */
    sendsEmails?: boolean;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer API keys from API_KEYS. Every key is compared, in constant time over fixed-length
 * digests, so neither timing nor early exit tells which key (or how much of one) matched. A
 * client that sent AUTH_FAILURES_PER_MINUTE wrong keys (here or in SMTP AUTH, `app.authFailures`)
 * gets a 429 before its key is looked at, until its next try is due; a request without a key is
 * a 401 and no guess, so it is not counted.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, { config }: { config: ApiConfig }) => {
    const keys = config.API_KEYS.map((k) => ({ name: k.name, digest: digest(k.secret) }));
    // Every key is compared, whichever matched: no early exit.
    const accountForKey = (secret: string): string | null => {
      const given = digest(secret);
      let found: string | null = null;
      for (const key of keys) {
        if (timingSafeEqual(key.digest, given) && secret !== '') found = key.name;
      }
      return found;
    };
    const failures = new AuthFailures(config.AUTH_FAILURES_PER_MINUTE);
    app.decorateRequest('account', '');
    app.decorate('accountForKey', accountForKey);
    app.decorate('authFailures', failures);
    app.decorate('authenticate', async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization;
      const retryAfter = header === undefined ? 0 : failures.retryAfter(request.ip);
      if (retryAfter > 0) {
        app.recurring.warn(app.log, { client: request.ip }, 'API key refused unread: too many wrong keys from this client');
        throw Object.assign(new AuthThrottledError(), { retryAfter });
      }
      const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
      const found = accountForKey(match?.[1] ?? '');
      if (found === null) {
        if (header !== undefined) countFailure(app, failures, request.ip);
        throw new UnauthorizedError();
      }
      request.account = found;
      // Every authenticated request counts: a send route its emails (RATE_LIMIT_PER_MINUTE, once
      // it has counted them), any other route itself (REQUEST_RATE_LIMIT_PER_MINUTE), before its
      // handler touches the ledger.
      if (!request.routeOptions.config.sendsEmails) app.requestLimiter.take(found, 1, reply);
    });
  },
  { name: 'auth' },
);

/** Counts a wrong key of `client`; says so once in a while when the table of clients is full. */
export function countFailure(app: FastifyInstance, failures: AuthFailures, client: string | undefined): void {
  if (!failures.failed(client))
    app.recurring.warn(app.log, { client }, 'wrong key not counted: too many clients sent wrong keys this minute');
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Wrong keys by client, HTTP and SMTP AUTH together (auth-failures.ts). */
    authFailures: AuthFailures;
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** The account of an API key's secret (SMTP AUTH uses it as the password); null: no such key. */
    accountForKey(secret: string): string | null;
  }
}
