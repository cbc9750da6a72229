import { createLedgerPool, migrate } from '@postline/ledger';
import { collectProcessMetrics, retryUntil, startupPlugin } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Registry } from 'prom-client';
import type { BounceConfig } from './config.js';
import { createBounceListener } from './listener.js';

/**
 * The bounce listener's process (`node services/api/dist/bounce-server.js`, its own role that
 * scales apart from the API): the SMTP listener on BOUNCE_SMTP_PORT, and on METRICS_PORT only
 * health, readiness and metrics. It needs Postgres alone: the events it writes reach the events
 * topic through the mailers' outbox relay, like every other event.
 */
export const bounceApp = fp(async (app: FastifyInstance, { config }: { config: BounceConfig }) => {
  await app.register(startupPlugin);
  const db = createLedgerPool(
    {
      url: config.DATABASE_URL,
      applicationName: 'postline-bounces',
      maxConnections: config.DATABASE_POOL_SIZE,
      connectTimeoutMs: config.LEDGER_TIMEOUT_MS,
      queryTimeoutMs: config.LEDGER_TIMEOUT_MS,
    },
    app.log,
  );
  void app.startup.step('ledger', (signal) =>
    retryUntil('ledger migrations', () => migrate(db, app.log), app.log, config.BOOT_TIMEOUT_MS, signal),
  );
  const registry = new Registry();
  collectProcessMetrics(registry, 'postline_bounces_');
  const reports = new Counter({
    name: 'postline_bounces_reports_total',
    help: 'Reports received, by what became of them (bounced, complained, ignored, malformed, unknown email, refused recipient, ledger error, deferred, stalled, too many connections, not a recipient)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const listener = createBounceListener({
    config,
    db,
    log: app.log,
    reports,
  });
  listener.on('error', (error) => app.log.warn({ err: error }, 'bounce listener connection error'));
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(config.BOUNCE_SMTP_PORT, config.BOUNCE_SMTP_HOST, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const address = listener.server.address();
  app.decorate('bounceSmtpPort', typeof address === 'object' && address ? address.port : config.BOUNCE_SMTP_PORT);
  app.log.info({ port: app.bounceSmtpPort, domain: config.BOUNCE_DOMAIN }, 'bounce listener started');

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ledger = await db.query('select 1').then(
      () => true,
      () => false,
    );
    reply.status(ledger ? 200 : 503);
    return { status: ledger ? 'ready' : 'not ready', ledger, starting: app.startup.pending() };
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  // Stop taking reports first, then close the pool the ones in flight still write to.
  app.addHook('onClose', async () => {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    await db.end();
  });
});

declare module 'fastify' {
  interface FastifyInstance {
    /** The port the SMTP listener bound (BOUNCE_SMTP_PORT, or the one the OS gave for 0). */
    bounceSmtpPort: number;
  }
}
