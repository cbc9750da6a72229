import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiConfig } from '../config.js';
import { UnauthorizedError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated API key's name. */
    account: string;
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
    app.decorate('authenticate', async (request: FastifyRequest) => {
      const header = request.headers.authorization ?? '';
      const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
      const found = accountForKey(match?.[1] ?? '');
      if (found === null) throw new UnauthorizedError();
      request.account = found;
    });
  },
  { name: 'auth' },
);

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>;
    /** The account of an API key's secret (SMTP AUTH uses it as the password); null: no such key. */
    accountForKey(secret: string): string | null;
  }
}
