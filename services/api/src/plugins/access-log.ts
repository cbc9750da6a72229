import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** Fields a route adds to its request's access line (the accepted ids and their account). */
    accessLog: Record<string, unknown> | null;
  }
}

/**
 * One access line a request, when it is answered: fastify's two (`incoming request`, `request
 * completed`) plus the accept route's own (`emails accepted`) were three JSON lines per POST at
 * the default level, 11 % of the API's throughput at 64 clients (docs/benchmarks.md). The line
 * keeps fastify's shape (`req`, `res`, `responseTime`) and adds what the route set in
 * `request.accessLog`. Needs request logging disabled (serverOptions).
 */
export const accessLogPlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest('accessLog', null);
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime, ...request.accessLog }, 'request completed');
  });
});
