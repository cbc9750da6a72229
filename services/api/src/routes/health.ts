import type { FastifyInstance } from 'fastify';

/** Liveness (the process answers, also while it boots) and readiness (it can accept email now). No API key needed. */
export async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await app.emailQueue.ready();
    reply.status(ready ? 200 : 503);
    // `starting`: the boot steps still running (waiting for Postgres or Kafka), if any.
    return { status: ready ? 'ready' : 'not ready', kafka: ready, starting: app.startup.pending() };
  });
}
