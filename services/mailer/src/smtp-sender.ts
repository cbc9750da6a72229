import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import { allRecipients, domainOf, type Envelope, verpAddress } from '@postline/contracts';
import type { LogSink } from '@postline/runtime';
import nodemailer, { type Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { createDataProbes } from './data-probe.js';
import type { DkimKeyring } from './dkim-keys.js';
import { classifySmtpError, refusalsOf, type SmtpOutcome } from './smtp-outcome.js';

export interface SmtpSenderOptions {
  url: string;
  poolSize: number;
  timeoutMs: number;
  /** One send, all in: waiting for a pooled connection, connecting, the whole conversation. */
  sendTimeoutMs: number;
  rejectUnauthorized: boolean;
  messageIdDomain: string;
  /** DKIM keys by sender domain; `dkimRequired`: an email from a domain without one is refused, not sent unsigned. */
  dkim: DkimKeyring;
  dkimRequired: boolean;
  /** Set: every message's Return-Path (MAIL FROM) is its VERP address there, for asynchronous bounces. */
  bounceDomain?: string | undefined;
}

/** The contract of an SMTP transport here: send one envelope (always settles, by its deadline), close. */
export interface SmtpSender {
  /** `recipients`: the RCPT TO list (the email's recipients less any suppressed ones). */
  send(envelope: Envelope, recipients?: string[]): Promise<SmtpOutcome & { messageId: string }>;
  verify(): Promise<boolean>;
  close(): void;
}

/** Every resend of an email carries this same Message-ID. */
export function messageIdFor(id: string, domain: string): string {
  return `<${id}@${domain}>`;
}

/**
 * The message's bytes, as the mailer sends them: MailComposer over the envelope's structures, with
 * our Message-ID and the accept time as Date (bench/smtp-path.mjs builds the same bytes).
 */
export function buildMessage(envelope: Envelope, messageId: string): Promise<Buffer> {
  // Addresses are the `{ name, address }` structures parsed at the edge: nodemailer formats
  // them and never parses a string of ours (its addressparser reads some strings differently).
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
    // One random boundary base for the message's parts: nodemailer otherwise draws one from
    // crypto.randomBytes for every MIME node, a system call each (randomUUID's entropy is cached).
    baseBoundary: randomUUID().replaceAll('-', ''),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

/** nodemailer's pooled SMTP transport; its logs go through pino. */
export function createSmtpSender(options: SmtpSenderOptions, log: LogSink): SmtpSender {
  const smtpLog = log.child({ component: 'nodemailer' });
  // nodemailer logs printf-style, (meta, '%s', message), and its meta has a `component` of its own
  // ('smtp-connection'), which would repeat the key that names it here.
  const line = ({ component, ...meta }: { component?: unknown }, msg: unknown[]) => ({
    ...meta,
    smtpComponent: component,
    smtpMessage: format(...msg),
  });
  // Its warnings and errors at debug: every send's outcome is logged by the mailer, once, at the
  // level its consequence deserves (a refused connection, a warning). nodemailer's own were three
  // lines a failed send, two with a stack, one at error level for a server that was merely down.
  const debug = (meta: object, ...msg: unknown[]) => smtpLog.debug(line(meta, msg), 'nodemailer');
  const logger = { level: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: debug, error: debug, fatal: debug };
  const transport: Transporter = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.poolSize,
    maxMessages: Number.POSITIVE_INFINITY,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    // An idle pooled connection says QUIT before its socket timeout would drop it as an error
    // (after every pause in the traffic); as Postfix, which caches one for 2 s.
    idleTimeout: Math.floor(options.timeoutMs / 2),
    tls: { rejectUnauthorized: options.rejectUnauthorized },
    // Nothing in a request may make the mailer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  const probes = createDataProbes();
  transport.use('stream', probes.plugin as Parameters<Transporter['use']>[1]);

  return {
    async send(envelope, recipients = allRecipients(envelope.email)) {
      const messageId = messageIdFor(envelope.id, options.messageIdDomain);
      const { email } = envelope;
      const fromDomain = domainOf(email.from.address);
      const dkimKeys = options.dkim.keysFor(fromDomain);
      if (dkimKeys.length === 0 && options.dkimRequired) {
        // Permanent: it is dead-lettered, and `postline dlq redrive` sends it once a key is added.
        return { kind: 'permanent', error: `no DKIM key for ${fromDomain} (DKIM_REQUIRED is true)`, response: null, messageId };
      }
      const building = buildMessage(envelope, messageId);
      let raw: Buffer;
      try {
        // Built once, as bytes: nodemailer may read the message again when the pool moves it to
        // another connection (a one-shot stream failed there with "Content stream was already
        // read", and could leave the send unsettled).
        raw = await building;
      } catch (error) {
        return { ...classifySmtpError(error, false), messageId };
      }
      // The deadline covers the pool's queue too: nodemailer fails the send when it fires,
      // closing the connection if it was mid-conversation. Nothing can hold a partition forever.
      const signal = AbortSignal.timeout(options.sendTimeoutMs);
      const probe = probes.watch(signal);
      try {
        // The SMTP envelope is set from the same structures, not derived from the headers.
        // With a bounce domain, the Return-Path names the email: a bounce hours later finds it.
        const returnPath = options.bounceDomain ? verpAddress(envelope.id, options.bounceDomain) : email.from.address;
        const smtpEnvelope = { from: returnPath, to: recipients };
        // Signed as it is streamed to the server (each of the domain's selectors signs: two during a key rotation).
        const dkim = dkimKeys.length > 0 ? { dkim: { keys: dkimKeys } } : {};
        // The Message-ID given too: nodemailer reads one from the message it sends, and without it
        // drew a random one (five randomBytes calls) for `raw`, which it never writes.
        const info = await transport.sendMail({ envelope: smtpEnvelope, raw, messageId, signal, ...dkim });
        const refusals = refusalsOf((info as { rejectedErrors?: Parameters<typeof refusalsOf>[0] }).rejectedErrors);
        // A refusal nodemailer listed without its error keeps its address, with no reply.
        for (const r of (info.rejected ?? []).map(String))
          if (!refusals.some((x) => x.recipient === r)) refusals.push({ recipient: r, response: null });
        const accepted = (info.accepted ?? []).map(String);
        return { kind: 'sent', response: String(info.response ?? ''), accepted, refusals, messageId };
      } catch (error) {
        return { ...classifySmtpError(error, probe.dataBegan), messageId };
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
