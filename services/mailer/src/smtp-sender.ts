import { PassThrough } from 'node:stream';
import type { Envelope } from '@postline/contracts';
import type { LogSink } from '@postline/runtime';
import nodemailer, { type Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { classifySmtpError, type SmtpOutcome } from './smtp-outcome.js';

export interface SmtpSenderOptions {
  url: string;
  poolSize: number;
  timeoutMs: number;
  rejectUnauthorized: boolean;
  messageIdDomain: string;
}

/** The contract of an SMTP transport here: send one envelope, close. */
export interface SmtpSender {
  send(envelope: Envelope): Promise<SmtpOutcome & { messageId: string }>;
  verify(): Promise<boolean>;
  close(): void;
}

/** Every resend of an email carries this same Message-ID. */
export function messageIdFor(id: string, domain: string): string {
  return `<${id}@${domain}>`;
}

/** nodemailer's pooled SMTP transport; its logs go through pino. */
export function createSmtpSender(options: SmtpSenderOptions, log: LogSink): SmtpSender {
  const smtpLog = log.child({ component: 'nodemailer' });
  const logger = {
    level: () => {},
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (meta: object, ...msg: unknown[]) => smtpLog.warn({ ...meta, smtpMessage: msg.join(' ') }, 'nodemailer'),
    error: (meta: object, ...msg: unknown[]) => smtpLog.error({ ...meta, smtpMessage: msg.join(' ') }, 'nodemailer'),
    fatal: (meta: object, ...msg: unknown[]) => smtpLog.error({ ...meta, smtpMessage: msg.join(' ') }, 'nodemailer'),
  };
  const transport: Transporter = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.poolSize,
    maxMessages: Number.POSITIVE_INFINITY,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    tls: { rejectUnauthorized: options.rejectUnauthorized },
    // Nothing in a request may make the mailer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger,
  } as Parameters<typeof nodemailer.createTransport>[0]);

  return {
    async send(envelope) {
      const messageId = messageIdFor(envelope.id, options.messageIdDomain);
      const { email } = envelope;
      const composer = new MailComposer({
        from: email.from,
        to: email.to,
        cc: email.cc,
        bcc: email.bcc,
        replyTo: email.replyTo,
        subject: email.subject,
        text: email.text,
        html: email.html,
        headers: email.headers,
        attachments: email.attachments?.map((a) => ({
          filename: a.filename,
          content: a.content,
          encoding: 'base64',
          contentType: a.contentType,
        })),
        messageId,
        date: new Date(envelope.acceptedAt),
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      const node = composer.compile();
      // The raw message flows through here; its end means every byte went to the connection,
      // so a later failure without a reply is "uncertain" rather than "not sent".
      let handedOver = false;
      const body = new PassThrough();
      body.once('end', () => (handedOver = true));
      node.createReadStream().pipe(body);
      try {
        const info = await transport.sendMail({ envelope: node.getEnvelope(), raw: body });
        return { kind: 'sent', response: String(info.response ?? ''), rejected: (info.rejected ?? []).map(String), messageId };
      } catch (error) {
        return { ...classifySmtpError(error, handedOver), messageId };
      }
    },
    async verify() {
      return transport.verify().then(
        () => true,
        () => false,
      );
    },
    close() {
      transport.close();
    },
  };
}
