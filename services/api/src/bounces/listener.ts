import { domainOf } from '@postline/contracts';
import { recordReport, reportTarget, verpKey } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import type pg from 'pg';
import type { Counter } from 'prom-client';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { BodyBudget } from '../body-budget.js';
import { clientOf } from '../client-address.js';
import { budgetedOnData } from '../smtp-budgeted-data.js';
import { connectionLimits } from '../smtp-connection-limit.js';
import { acceptBehindBalancers } from '../smtp-proxy.js';
import { smtpError } from '../submission/smtp-errors.js';
import type { BounceConfig } from './config.js';
import { reportKeeper, type Unusable } from './kept-reports.js';
import { parseReport } from './parse-report.js';
import { reportEffects, reportRecipients, verpOf } from './report-effects.js';

/**
 * Recipients a report may have. A report goes to the one VERP address of the email it is about;
 * a sender with more gets 452 and sends the rest in another transaction (RFC 5321 4.5.3.1.10).
 * Unbounded, smtp-server kept every accepted recipient of a transaction: one connection that sent
 * 200,000 RCPT TO grew the heap by 38 MB, about 18 MB of traffic, with no byte of DATA.
 */
export const REPORT_MAX_RECIPIENTS = 10;

export type ReportOutcome =
  | 'bounced'
  | 'complained'
  | 'ignored'
  | 'malformed'
  | 'unknown email'
  | 'refused recipient'
  | 'ledger error'
  | 'deferred'
  | 'stalled'
  | 'too many connections'
  | 'not a recipient';

interface ListenerOptions {
  config: Pick<
    BounceConfig,
    'BOUNCE_DOMAIN' | 'BOUNCE_MAX_BYTES' | 'BOUNCE_MAX_CONNECTIONS' | 'BOUNCE_MAX_CONNECTIONS_PER_IP' | 'BOUNCE_PROXY_FROM'
  >;
  db: pg.Pool;
  log: LogSink;
  reports: Counter<'outcome'>;
}

/**
 * The inbound side of deliverability: an MX for BOUNCE_DOMAIN that takes delivery status
 * notifications (RFC 3464) and feedback reports (ARF, RFC 5965) and nothing else. No AUTH, no
 * relaying: a recipient outside the bounce domain is refused at RCPT. A report is answered only
 * once it is in the ledger (250), or kept (250, unusable), or refused (550: it names no email
 * we sent), or deferred (451: the ledger is down; the sending MTA retries).
 */
export function createBounceListener(options: ListenerOptions): SMTPServer {
  const { config, db, log, reports } = options;
  const bounceDomain = config.BOUNCE_DOMAIN;
  const maxBytes = config.BOUNCE_MAX_BYTES;
  // Two reports of the largest size, or many ordinary ones, at once; one client (an address, or
  // an IPv6 /64) holds at most one largest report's room.
  const budget = new BodyBudget(2 * maxBytes, maxBytes);
  const count = (outcome: ReportOutcome) => reports.inc({ outcome });
  const keep = reportKeeper(db, log);
  // Read once, when the first report needs it (the ledger may still be migrating at boot); a
  // failed read is tried again by the next report, which meanwhile gets a 451.
  let keyRead: Promise<Buffer> | null = null;
  const key = () => {
    keyRead ??= verpKey(db).catch((error: Error) => {
      keyRead = null;
      throw error;
    });
    return keyRead;
  };
  /** A report nothing can be recorded from: 250 (a sending MTA would only retry it), kept if allowed. */
  async function unusable(report: Unusable): Promise<string> {
    if (!(await keep(report))) return '2.0.0 Not usable';
    log.warn({ reason: report.reason, rcptTo: report.rcptTo }, 'unusable report kept for inspection');
    return '2.0.0 Kept for inspection';
  }

  async function handle(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const rcptTo = session.envelope.rcptTo.map((r) => r.address);
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const report = await parseReport(raw).catch((error: Error) => ({
      kind: 'malformed' as const,
      reason: `unparseable: ${error.message}`,
    }));
    if (report.kind === 'malformed') {
      count('malformed');
      return unusable({ reason: report.reason, mailFrom, rcptTo, raw });
    }
    const verp = verpOf(rcptTo, report.original, bounceDomain);
    const target = verp ? await reportTarget(db, verp.emailId) : null;
    if (!verp || !target) {
      count('unknown email');
      throw smtpError(550, verp ? '5.1.1 No such email' : '5.1.1 The report names no email sent from here');
    }
    const { emailId } = verp;
    const { account } = target;
    const { recipients, tagged } = reportRecipients(verp, target.recipients, await key());
    const effects = reportEffects(report, emailId, account, new Date(), recipients, tagged);
    if (effects.events.length === 0 && effects.strangers.length > 0) {
      count('not a recipient');
      return unusable({ reason: `names no recipient of the email (${effects.strangers.length} other addresses)`, mailFrom, rcptTo, raw });
    }
    if (effects.events.length === 0) {
      count('ignored');
      return '2.0.0 Nothing to record';
    }
    await recordReport(db, { emailId, account, ...effects });
    const outcome = report.kind === 'arf' ? 'complained' : 'bounced';
    count(outcome);
    const { strangers } = effects;
    log.info(
      { emailId, events: effects.events.map((e) => e.type), suppressed: effects.suppress.length, strangers: strangers.length },
      'report recorded',
    );
    return '2.0.0 Recorded';
  }

  const server = new SMTPServer({
    name: bounceDomain,
    banner: 'postline bounce and complaint listener',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: maxBytes,
    logger: false,
    ...connectionLimits({
      total: config.BOUNCE_MAX_CONNECTIONS,
      perIp: config.BOUNCE_MAX_CONNECTIONS_PER_IP,
      refused: () => count('too many connections'),
    }),
    onRcptTo(address: SMTPServerAddress, session, callback) {
      if (session.envelope.rcptTo.length >= REPORT_MAX_RECIPIENTS) {
        return callback(smtpError(452, `4.5.3 Too many recipients (at most ${REPORT_MAX_RECIPIENTS} a report)`));
      }
      if (domainOf(address.address) !== bounceDomain) {
        count('refused recipient');
        return callback(smtpError(550, '5.7.1 Relaying denied: this server only takes reports for its bounce domain'));
      }
      callback();
    },
    // Reports come from anyone on the internet, into a process with a capped heap: the reports
    // held at once are bounded (a flood of large ones waits, then gets a 451 and is retried).
    onData: budgetedOnData(
      budget,
      maxBytes,
      (session) => clientOf(session.remoteAddress),
      {
        busy: () => {
          count('deferred');
          return smtpError(451, '4.3.1 Too many reports in progress; try again later');
        },
        stalled: () => {
          count('stalled');
          return smtpError(451, '4.4.2 The report stopped arriving (timeout); try again later');
        },
        // smtp-server stops storing past `size` and says so: 552, and nothing is read.
        tooBig: () => smtpError(552, '5.3.4 Report too large'),
      },
      deliver,
    ),
  });
  acceptBehindBalancers(server, config.BOUNCE_PROXY_FROM);
  return server;

  function deliver(message: Buffer, session: SMTPServerSession, callback: (error: Error | null, message?: string) => void) {
    handle(message, session).then(
      (answer) => callback(null, answer),
      (error: Error & { responseCode?: number }) => {
        if (error.responseCode) return callback(error);
        count('ledger error');
        log.warn({ err: error }, 'report not recorded; the sender will retry');
        callback(smtpError(451, '4.3.0 Not recorded; try again later'));
      },
    );
  }
}
