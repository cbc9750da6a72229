import { shutdownPlugin, startupPlugin } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { WebhooksConfig } from './config.js';
import { dispatcherPlugin } from './plugins/dispatcher.js';
import { ledgerPlugin } from './plugins/ledger.js';
import { metricsPlugin } from './plugins/metrics.js';

/**
 * The webhook dispatcher: reads the events topic, queues deliveries in the ledger, and POSTs
 * them signed. The HTTP side only answers health, readiness and metrics. The dispatcher is
 * registered last so it closes first (fastify closes LIFO), before the ledger pool.
 */
export const app = fp(async (instance: FastifyInstance, { config }: { config: WebhooksConfig }) => {
  // First: its preClose starts the one deadline every wait of the close shares.
  await instance.register(shutdownPlugin, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  await instance.register(startupPlugin);
  await instance.register(metricsPlugin);
  await instance.register(ledgerPlugin, { config });
  instance.get('/healthz', async () => ({ status: 'ok' }));
  instance.get('/readyz', async (_request, reply) => {
    const consumer = instance.consumerReady();
    const ledger = await instance.ledger.query('select 1').then(
      () => true,
      () => false,
    );
    reply.status(consumer && ledger ? 200 : 503);
    return { status: consumer && ledger ? 'ready' : 'not ready', consumer, ledger, starting: instance.startup.pending() };
  });
  await instance.register(dispatcherPlugin, { config });
});
