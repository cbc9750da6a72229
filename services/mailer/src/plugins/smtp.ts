import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { MailerConfig } from '../config.js';
import { dnsRecord, unsignedDomains } from '../dkim-keys.js';
import { createRelayPool, type RelayPool, relayBreaker } from '../relays/relay-pool.js';
import { RelayThrottle } from '../relays/relay-throttle.js';
import { createSmtpSender } from '../smtp-sender.js';
import { relayMetrics } from './relay-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    smtp: RelayPool;
  }
}

export const smtpPlugin = fp(
  async (app: FastifyInstance, { config }: { config: MailerConfig }) => {
    // One pooled nodemailer transport per relay (SMTP_URL alone is the pool of one, `relay1`),
    // each with its own breaker and AIMD throttle.
    const metrics = relayMetrics(app.mailerMetrics.registry);
    const relays = config.relays.map((spec) => ({
      spec,
      breaker: relayBreaker(),
      throttle: new RelayThrottle(spec.maxRate, config.SMTP_POOL_SIZE, (reason, rate) => {
        metrics.cuts.inc({ relay: spec.name, reason });
        app.log.warn({ relay: spec.name, reason, rate }, 'relay throttled us: sending slower');
      }),
      sender: createSmtpSender(
        {
          url: spec.url,
          poolSize: config.SMTP_POOL_SIZE,
          timeoutMs: config.SMTP_TIMEOUT_MS,
          sendTimeoutMs: config.SEND_TIMEOUT_MS,
          rejectUnauthorized: config.SMTP_TLS_REJECT_UNAUTHORIZED,
          messageIdDomain: config.MESSAGE_ID_DOMAIN,
          dkim: config.dkim,
          dkimRequired: config.DKIM_REQUIRED,
          bounceDomain: config.BOUNCE_DOMAIN,
          verpKey: app.verpKey,
        },
        app.log.child({ relay: spec.name }),
      ),
    }));
    const smtp = createRelayPool(relays, config.routes, app.log, {
      sent: (relay, outcome) => metrics.sends.inc({ relay, outcome }),
      failedOver: (relay) => metrics.failovers.inc({ relay }),
    });
    metrics.watch(relays);
    for (const keys of config.dkim.domains.values())
      for (const key of keys) app.log.info({ record: dnsRecord(key) }, 'DKIM key loaded: publish this TXT record');
    const unsigned = unsignedDomains(config.dkim, config.SENDER_DOMAINS);
    if (unsigned.length > 0) app.log.warn({ domains: unsigned }, 'no DKIM key: mail from these sender domains is sent unsigned');
    app.decorate('smtp', smtp);
    app.addHook('onClose', async () => smtp.close());
  },
  { name: 'smtp' },
);
