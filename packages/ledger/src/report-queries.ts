import type { EmailEvent } from '@postline/contracts';
import type pg from 'pg';
import { insertEvents } from './event-queries.js';
import { insertSuppressions, type SuppressionWrite } from './suppression-queries.js';
import { inTransaction } from './transaction.js';

/**
 * The email a report names, if the ledger knows it: its account, and the addresses it was sent
 * to (as the mailer recorded them). A report may only speak for those addresses: anyone who
 * received one of our emails knows its VERP address, and could otherwise report any address at
 * all as bounced and have it suppressed in that account.
 */
export async function reportTarget(db: pg.Pool, emailId: string): Promise<{ account: string; recipients: string[] } | null> {
  const { rows } = await db.query<{ account: string; recipients: string[] }>(
    `select e.account, coalesce(array_agg(r.address) filter (where r.address is not null), '{}') as recipients
       from emails e left join email_recipients r on r.email_id = e.id
      where e.id = $1 and e.state <> 'accepting'
      group by e.account`,
    [emailId],
  );
  return rows[0] ?? null;
}

/**
 * What one bounce or complaint report says about an email: its events and the addresses it
 * suppresses, in one transaction. Event ids are deterministic, so the same report received twice
 * (an MTA retrying after a lost 250) writes nothing the second time.
 */
export async function recordReport(
  db: pg.Pool,
  report: { emailId: string; account: string; events: EmailEvent[]; suppress: SuppressionWrite[] },
): Promise<void> {
  await inTransaction(db, async (client) => {
    await insertSuppressions(client, report.account, report.emailId, report.suppress);
    await insertEvents(client, report.events);
  });
}

/** Keeps a report the listener could not use, as received (capped by the caller), for inspection. */
export async function keepReport(db: pg.Pool, report: { reason: string; mailFrom: string; rcptTo: string[]; raw: string }): Promise<void> {
  await db.query('insert into inbound_reports (reason, mail_from, rcpt_to, raw) values ($1, $2, $3, $4)', [
    report.reason,
    report.mailFrom,
    report.rcptTo,
    report.raw,
  ]);
}
