import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { MailerConfig } from '../config.js';
import { createSmtpSender, type SmtpSender } from '../smtp-sender.js';

declare module 'fastify' {
  interface FastifyInstance {
    smtp: SmtpSender;
  }
}

export const smtpPlugin = fp(
  async (app: FastifyInstance, { config }: { config: MailerConfig }) => {
    const smtp = createSmtpSender(
      {
        url: config.SMTP_URL,
        poolSize: config.SMTP_POOL_SIZE,
        timeoutMs: config.SMTP_TIMEOUT_MS,
        sendTimeoutMs: config.SEND_TIMEOUT_MS,
        rejectUnauthorized: config.SMTP_TLS_REJECT_UNAUTHORIZED,
        messageIdDomain: config.MESSAGE_ID_DOMAIN,
      },
      app.log,
    );
    app.decorate('smtp', smtp);
    app.addHook('onClose', async () => smtp.close());
  },
  { name: 'smtp' },
);
