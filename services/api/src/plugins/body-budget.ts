import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { BODY_WAIT_MS, BodyBudget, type Release } from '../body-budget.js';
import { BODY_IDLE_MS, WATCHED_FROM_BYTES, watchBody } from '../body-watch.js';
import type { ApiConfig } from '../config.js';
import { BodyTimeoutError, BusyError } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Request-body bytes held at once (BODY_BYTES_IN_FLIGHT), shared with SMTP submission. */
    bodyBudget: BodyBudget;
  }
}

/** Room for `bytes` held by `owner`, waiting up to BODY_WAIT_MS; a 503 (EMAIL_ERR_BUSY, Retry-After) without it. */
export async function holdRoom(budget: BodyBudget, bytes: number, owner: string): Promise<Release> {
  const release = await budget.acquire(bytes, BODY_WAIT_MS, owner);
  if (!release) throw new BusyError();
  return release;
}

/**
 * Every request with a body holds its declared size (a chunked one: BODY_LIMIT_BYTES) from before
 * its body is read until its response is done or its connection closes. preParsing, not
 * onRequest: it runs after the routes' authentication, so a client without a key can hold no
 * room, and no body is read while it waits. A body of WATCHED_FROM_BYTES or more is watched
 * (body-watch.ts): one that stalls for BODY_IDLE_MS gives its room back and is answered 408.
 */
export const bodyBudgetPlugin = fp(
  async (app: FastifyInstance, { config }: { config: ApiConfig }) => {
    const budget = new BodyBudget(config.BODY_BYTES_IN_FLIGHT, config.largestBody);
    app.decorate('bodyBudget', budget);
    app.addHook('preParsing', async (request, reply, payload) => {
      const length = request.headers['content-length'];
      if (length === undefined && request.headers['transfer-encoding'] === undefined) return payload;
      const declared = length === undefined ? config.BODY_LIMIT_BYTES : Number(length);
      // Fastify refuses a declared size over the limit (413) without reading it.
      if (!(declared > 0) || declared > config.BODY_LIMIT_BYTES) return payload;
      const release = await holdRoom(budget, declared, request.account);
      reply.raw.once('close', () => release());
      // A small body is left to REQUEST_TIMEOUT_MS: watching costs a stream and a timer a request
      // (measured: 274 against 358 us of CPU a request, bench/api-alone.mjs), and the room it holds
      // is small (the default room takes 384 of them stalled at once).
      if (declared < WATCHED_FROM_BYTES) return payload;
      return watchBody(
        payload,
        BODY_IDLE_MS,
        () => new BodyTimeoutError(BODY_IDLE_MS / 1000),
        () => {
          release();
          reply.header('Connection', 'close');
        },
      );
    });
  },
  { name: 'body-budget' },
);
