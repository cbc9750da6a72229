import { domainOf } from '@postline/contracts';
import addressparser from 'nodemailer/lib/addressparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { TEST_SENDER_DOMAINS } from './env.js';

/** What the sink does with one message, decided when its DATA has been received. */
export type Behaviour = 'accept' | { code: number; message: string } | 'hang' | 'drop';

export interface Received {
  messageId: string | null;
  subject: string | null;
  raw: string;
  from: string;
  to: string[];
  /** When the server accepted it (ms since the epoch). */
  at: number;
}

/**
 * A real SMTP server (smtp-server) that records every message and can be told how to answer:
 * accept, reply with any code (421, 550…), never answer (timeout), or drop the connection
 * after the data (an "uncertain" send). `greeting` set to a code refuses whole sessions.
 */
/**
 * The policy the test services run with (apiEnv / mailerEnv): what may ever reach an SMTP server.
 * MAIL FROM may also be a VERP address of the bounce domain the tests give a mailer.
 */
export const SINK_POLICY = { senderDomains: TEST_SENDER_DOMAINS, bounceDomain: 'bounces.example.com', maxRecipients: 50 };

/** A VERP Return-Path of the tests' bounce domain (contracts' verpAddress(), with or without a tag). */
const VERP_FROM = /^bounces\+[0-9a-f-]{36}(-[0-9a-f]{16})?@/;

/**
 * What this server saw that the policy forbids, read from the SMTP session and the message's own
 * From: header (by nodemailer's RFC 5322 parser, not ours): MAIL FROM (or a VERP address of the
 * bounce domain) and From: in the allowlist, exactly one From: mailbox, RCPT TO within the cap.
 */
function policyViolations(raw: string, mailFrom: string, rcptTo: string[]): string[] {
  const found: string[] = [];
  const verp = domainOf(mailFrom) === SINK_POLICY.bounceDomain && VERP_FROM.test(mailFrom);
  if (!verp && !SINK_POLICY.senderDomains.includes(domainOf(mailFrom))) found.push(`MAIL FROM:<${mailFrom}>`);
  if (rcptTo.length > SINK_POLICY.maxRecipients) found.push(`${rcptTo.length} RCPT TO`);
  const head = raw.split(/\r?\n\r?\n/, 1)[0]?.replace(/\r?\n[ \t]+/g, ' ') ?? '';
  const fromLines = head.split(/\r?\n/).filter((l) => /^from:/i.test(l));
  const mailboxes = fromLines.flatMap((l) => addressparser(l.slice(5)) as { address?: string }[]);
  if (fromLines.length !== 1 || mailboxes.length !== 1 || !SINK_POLICY.senderDomains.includes(domainOf(mailboxes[0]?.address ?? ''))) {
    found.push(`From: ${fromLines.join(' | ')}`);
  }
  return found;
}

export class SmtpSink {
  readonly received: Received[] = [];
  /**
   * Message-ID → arrivals, kept as messages arrive. The server runs in the test's own process:
   * a poll that rebuilt this from `received` for each of 14,000 ids (O(n²), seconds a poll)
   * stalled the server past the mailer's 10 s SMTP timeout, and CI saw sends time out,
   * resent as uncertain (duplicates), and a backlog left undelivered (e2e 10). Counted per
   * recipient: a mailer with BOUNCE_DOMAIN sends each recipient its own copy (its own VERP), and
   * a copy is one recipient's second.
   */
  private readonly arrivals = new Map<string, Map<string, number>>();
  /** Every message received (accepted or not) that breaks SINK_POLICY; e2e scenarios assert it stays empty. */
  readonly violations: string[] = [];
  behaviour: (raw: string, index: number) => Behaviour = () => 'accept';
  /** When set, every connection is refused with this reply at connect time. */
  refuseConnections: { code: number; message: string } | null = null;
  /** Recipients refused at RCPT TO with this reply (the others of the same message are accepted). */
  readonly refuseRecipients = new Map<string, { code: number; message: string }>();
  /** Recipients refused once at RCPT TO with `450 4.2.0 Greylisted` and accepted from then on, as a greylisting server does. */
  readonly greylist = new Set<string>();
  /**
   * Above this many messages in any second, MAIL FROM gets `454 4.7.0 Throttling` (SES's answer):
   * a relay with a per-second quota. `mailTimes` holds each accepted MAIL FROM's time.
   */
  throttleAbovePerSecond: number | null = null;
  readonly mailTimes: number[] = [];
  throttled = 0;
  /** Each message is answered this long after its data arrived (a slow server). */
  delayMs = 0;
  /** Each new connection waits this long for its greeting (past the client's greeting timeout: a stuck server). */
  greetingDelayMs = 0;
  sessions = 0;
  attempts = 0;
  private server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      size: 16 * 1024 * 1024,
      onConnect: (_session: SMTPServerSession, callback: (err?: Error) => void) => {
        this.sessions++;
        if (this.refuseConnections) {
          const err = Object.assign(new Error(this.refuseConnections.message), { responseCode: this.refuseConnections.code });
          return callback(err);
        }
        if (this.greetingDelayMs > 0) setTimeout(() => callback(), this.greetingDelayMs);
        else callback();
      },
      onMailFrom: (_address, _session, callback) => {
        const now = Date.now();
        const limit = this.throttleAbovePerSecond;
        if (limit !== null) {
          let inLastSecond = 0;
          for (let i = this.mailTimes.length - 1; i >= 0 && (this.mailTimes[i] as number) > now - 1_000; i--) inLastSecond++;
          if (inLastSecond >= limit) {
            this.throttled++;
            return callback(Object.assign(new Error('4.7.0 Throttling: Maximum sending rate exceeded.'), { responseCode: 454 }));
          }
        }
        this.mailTimes.push(now);
        callback();
      },
      onRcptTo: (address, _session, callback) => {
        if (this.greylist.delete(address.address.toLowerCase())) {
          const message = `4.2.0 <${address.address}>: Recipient address rejected: Greylisted`;
          return callback(Object.assign(new Error(message), { responseCode: 450 }));
        }
        const refusal = this.refuseRecipients.get(address.address.toLowerCase());
        if (!refusal) return callback();
        callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
          const raw = Buffer.concat(chunks).toString('utf8');
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          this.violations.push(
            ...policyViolations(
              raw,
              mailFrom,
              session.envelope.rcptTo.map((r) => r.address),
            ),
          );
          const index = this.attempts++;
          const behaviour = this.behaviour(raw, index);
          if (behaviour === 'hang') return;
          if (behaviour === 'drop') {
            this.dropConnections();
            return;
          }
          if (behaviour !== 'accept') {
            return callback(Object.assign(new Error(behaviour.message), { responseCode: behaviour.code }));
          }
          const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(raw)?.[1] ?? null;
          if (messageId) {
            const byRecipient = this.arrivals.get(messageId) ?? new Map<string, number>();
            for (const r of session.envelope.rcptTo)
              byRecipient.set(r.address.toLowerCase(), (byRecipient.get(r.address.toLowerCase()) ?? 0) + 1);
            this.arrivals.set(messageId, byRecipient);
          }
          this.received.push({
            raw,
            messageId,
            subject: /^Subject:\s*(.*)$/im.exec(raw)?.[1]?.trim() ?? null,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            at: Date.now(),
          });
          callback(null, 'Ok: queued');
        });
      },
    });
  }

  /** Resets every open connection, as a server restart or a NAT timeout would. */
  dropConnections(): void {
    // smtp-server keeps no handle to the socket in the session: close every connection.
    for (const conn of (this.server as unknown as { connections: Set<{ _socket: { destroy(): void } }> }).connections)
      conn._socket.destroy();
  }

  async start(): Promise<this> {
    // A client killed mid-session (the crash tests SIGKILL mailers) resets its socket; the server
    // reports that as an 'error' event, which must not be an uncaught exception in the test.
    this.server.on('error', () => {});
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Message-ID → how many times it arrived to one recipient (the most of any of its recipients). */
  counts(): Map<string, number> {
    return new Map([...this.arrivals].map(([id, byRecipient]) => [id, Math.max(...byRecipient.values())]));
  }

  /**
   * The longest time without a delivery from `from` to `until` (or to the last message received),
   * in ms: how long a fault stopped every partition, a measure the host's speed does not move.
   */
  longestGap(from: number, until?: number): number {
    const times = this.received.filter((r) => r.at >= from && (until === undefined || r.at <= until)).map((r) => r.at);
    let longest = 0;
    let previous = from;
    for (const at of [...times.sort((a, b) => a - b), ...(until === undefined ? [] : [until])]) {
      longest = Math.max(longest, at - previous);
      previous = at;
    }
    return longest;
  }

  /** Whether a message with this Message-ID arrived: O(1), for polls over thousands of ids. */
  has(messageId: string): boolean {
    return this.arrivals.has(messageId);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
