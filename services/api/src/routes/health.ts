import type { FastifyInstance } from 'fastify';

/** Liveness (the process answers) and readiness (it can accept email now). No API key needed. */
export async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await app.emailQueue.ready();
    reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', kafka: ready };
  });
}
