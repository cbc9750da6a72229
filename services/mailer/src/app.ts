import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { MailerConfig } from './config.js';
import { kafkaPlugin } from './plugins/kafka.js';
import { ledgerPlugin } from './plugins/ledger.js';
import { metricsPlugin } from './plugins/metrics.js';
import { smtpPlugin } from './plugins/smtp.js';

/**
 * The mailer: the consumer does the work; the HTTP side only answers health, readiness and
 * metrics. The Kafka plugin is registered last so it is closed first (fastify closes LIFO).
 */
export const app = fp(async (instance: FastifyInstance, { config }: { config: MailerConfig }) => {
  await instance.register(metricsPlugin);
  await instance.register(ledgerPlugin, { config });
  await instance.register(smtpPlugin, { config });
  instance.get('/healthz', async () => ({ status: 'ok' }));
  instance.get('/readyz', async (_request, reply) => {
    const consumer = instance.consumerReady();
    const ledger = await instance.ledger.query('select 1').then(
      () => true,
      () => false,
    );
    reply.status(consumer && ledger ? 200 : 503);
    return { status: consumer && ledger ? 'ready' : 'not ready', consumer, ledger };
  });
  await instance.register(kafkaPlugin, { config });
});
