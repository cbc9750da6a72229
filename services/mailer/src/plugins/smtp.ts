import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { MailerConfig } from '../config.js';
import { dnsRecord, unsignedDomains } from '../dkim-keys.js';
import { createRelayPool } from '../relays/relay-pool.js';
import { createSmtpSender, type SmtpSender } from '../smtp-sender.js';

declare module 'fastify' {
  interface FastifyInstance {
    smtp: SmtpSender;
  }
}

export const smtpPlugin = fp(
  async (app: FastifyInstance, { config }: { config: MailerConfig }) => {
    // One pooled nodemailer transport per relay (SMTP_URL alone is the pool of one, `relay1`).
    const relays = config.relays.map((spec) => ({
      spec,
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
        },
        app.log.child({ relay: spec.name }),
      ),
    }));
    const smtp = createRelayPool(relays, config.routes, app.log);
    for (const keys of config.dkim.domains.values())
      for (const key of keys) app.log.info({ record: dnsRecord(key) }, 'DKIM key loaded: publish this TXT record');
    const unsigned = unsignedDomains(config.dkim, config.SENDER_DOMAINS);
    if (unsigned.length > 0) app.log.warn({ domains: unsigned }, 'no DKIM key: mail from these sender domains is sent unsigned');
    app.decorate('smtp', smtp);
    app.addHook('onClose', async () => smtp.close());
  },
  { name: 'smtp' },
);
