import { shutdownPlugin, startupPlugin } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { MailerConfig } from './config.js';
import { auditPlugin } from './plugins/audit.js';
import { kafkaPlugin } from './plugins/kafka.js';
import { ledgerPlugin } from './plugins/ledger.js';
import { metricsPlugin } from './plugins/metrics.js';
import { smtpPlugin } from './plugins/smtp.js';
import { watchdogPlugin } from './plugins/watchdog.js';

/**
 * The mailer: the consumer does the work; the HTTP side only answers health, readiness and
 * metrics. The Kafka plugin is registered last so it is closed first (fastify closes LIFO).
 */
export const app = fp(async (instance: FastifyInstance, { config }: { config: MailerConfig }) => {
  // Boot work runs in the background (runtime/startup.ts): /healthz answers at once.
  // First: its preClose starts the one deadline every wait of the close shares.
  await instance.register(shutdownPlugin, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  await instance.register(startupPlugin);
  await instance.register(metricsPlugin);
  await instance.register(ledgerPlugin, { config });
  await instance.register(smtpPlugin, { config });
  await instance.register(watchdogPlugin, { config });
  await instance.register(auditPlugin, { config });
  // A stalled partition fails both probes: readiness takes the mailer out of rotation, and
  // liveness is what makes an orchestrator replace it (its records then go to another member).
  instance.get('/healthz', async (_request, reply) => {
    const stalled = instance.stalls();
    reply.status(stalled.length === 0 ? 200 : 503);
    return stalled.length === 0 ? { status: 'ok' } : { status: 'stalled', stalled };
  });
  instance.get('/readyz', async (_request, reply) => {
    const consumer = instance.consumerReady();
    const ledger = await instance.ledger.query('select 1').then(
      () => true,
      () => false,
    );
    const stalled = instance.stalls();
    const ready = consumer && ledger && stalled.length === 0;
    reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', consumer, ledger, stalled, starting: instance.startup.pending() };
  });
  await instance.register(kafkaPlugin, { config });
});
