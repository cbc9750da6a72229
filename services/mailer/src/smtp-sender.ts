import { format } from 'node:util';
import { allRecipients, domainOf, type Envelope, verpAddress, verpTag } from '@postline/contracts';
import type { LogSink } from '@postline/runtime';
import DKIM from 'nodemailer/lib/dkim';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import { buildMessage } from './build-message.js';
import type { DkimKey, DkimKeyring } from './dkim-keys.js';
import { sendEach } from './send-each.js';
import { smtpEnvelope } from './smtp-envelope.js';
import { classifySmtpError, refusalsOf, type SmtpOutcome } from './smtp-outcome.js';
import { SmtpPool } from './smtp-pool.js';

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
  /**
   * Set: every message's Return-Path (MAIL FROM) is its VERP address there, for asynchronous
   * bounces: one per recipient, signed with `verpKey` (send-each.ts), or the email's alone without it.
   */
  bounceDomain?: string | undefined;
  verpKey?: () => Buffer | null;
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

/** Our pool of nodemailer's SMTPConnection (smtp-pool.ts); nodemailer's logs go through pino. */
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
  // The URL's own settings (smtps:, credentials, `?tls.…`) over ours, as nodemailer merges them.
  const { auth, tls, ...fromUrl } = parseConnectionUrl(options.url) as SMTPConnection.Options & {
    auth?: { user?: string; pass?: string };
  };
  const pool = new SmtpPool({
    connection: {
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      ...fromUrl,
      tls: { rejectUnauthorized: options.rejectUnauthorized, ...tls },
      logger,
    } as SMTPConnection.Options,
    auth: auth?.user || auth?.pass ? { user: auth.user ?? '', pass: auth.pass ?? '' } : undefined,
    size: options.poolSize,
    // An idle pooled connection says QUIT before its socket timeout would drop it as an error
    // (after every pause in the traffic); as Postfix, which caches one for 2 s.
    idleMs: Math.floor(options.timeoutMs / 2),
  });

  /** One SMTP transaction on the pool: MAIL FROM `returnPath`, RCPT TO each of `rcptTo`, the message. */
  async function transaction(returnPath: string, rcptTo: string[], raw: Buffer, signal: AbortSignal): Promise<SmtpOutcome> {
    const probe = { dataBegan: false };
    try {
      const info = await pool.send(smtpEnvelope(returnPath, rcptTo), raw, signal, probe);
      const refusals = refusalsOf(info.rejectedErrors);
      // A refusal nodemailer listed without its error keeps its address, with no reply.
      for (const r of (info.rejected ?? []).map(String))
        if (!refusals.some((x) => x.recipient === r)) refusals.push({ recipient: r, response: null });
      const accepted = (info.accepted ?? []).map(String);
      return { kind: 'sent', response: String(info.response ?? ''), accepted, refusals };
    } catch (error) {
      return classifySmtpError(error, probe.dataBegan);
    }
  }

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
      // The deadline covers the wait for a pooled connection too: the pool fails the send when it
      // fires, closing the connection if it was mid-conversation. Nothing can hold a partition
      // forever. One deadline for all of an email's transactions.
      const signal = AbortSignal.timeout(options.sendTimeoutMs);
      let raw: Buffer;
      try {
        // Built once, as bytes, and signed before any connection is taken (each of the domain's
        // selectors signs: two during a key rotation): a send moved to a fresh connection re-reads them.
        const built = await buildMessage(envelope, messageId);
        raw = dkimKeys.length > 0 ? await dkimSign(built, dkimKeys) : built;
      } catch (error) {
        return { ...classifySmtpError(error, false), messageId };
      }
      // The SMTP envelope is set from the same structures, not derived from the headers. With a
      // bounce domain, the Return-Path names the email (and the recipient): a bounce hours later finds it.
      const key = options.verpKey?.() ?? null;
      const { bounceDomain } = options;
      if (!bounceDomain) return { ...(await transaction(email.from.address, recipients, raw, signal)), messageId };
      if (!key) return { ...(await transaction(verpAddress(envelope.id, bounceDomain), recipients, raw, signal)), messageId };
      const each = (r: string) => transaction(verpAddress(envelope.id, bounceDomain, verpTag(key, envelope.id, r)), [r], raw, signal);
      return { ...(await sendEach(recipients, each)), messageId };
    },
    verify() {
      return pool.verify();
    },
    close() {
      pool.close();
    },
  };
}

/** The message with a DKIM-Signature by each key, by nodemailer's signer (the one its Mailer used). */
async function dkimSign(raw: Buffer, keys: DkimKey[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of new DKIM({ keys }).sign(raw)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
