import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiConfig } from '../config.js';
import { UnauthorizedError } from '../errors.js';

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
 * digests, so neither timing nor early exit tells which key (or how much of one) matched.
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
    app.decorateRequest('account', '');
    app.decorate('accountForKey', accountForKey);
    app.decorate('authenticate', async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization ?? '';
      const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
      const found = accountForKey(match?.[1] ?? '');
      if (found === null) throw new UnauthorizedError();
      request.account = found;
      // Every authenticated request counts: a send route its emails (RATE_LIMIT_PER_MINUTE, once
      // it has counted them), any other route itself (REQUEST_RATE_LIMIT_PER_MINUTE), before its
      // handler touches the ledger.
      if (!request.routeOptions.config.sendsEmails) app.requestLimiter.take(found, 1, reply);
    });
  },
  { name: 'auth' },
);

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** The account of an API key's secret (SMTP AUTH uses it as the password); null: no such key. */
    accountForKey(secret: string): string | null;
  }
}
