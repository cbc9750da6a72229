import type { EmailEvent } from '@postline/contracts';
import type pg from 'pg';
import { insertEvents } from './event-queries.js';
import { insertSuppressions, type SuppressionWrite } from './suppression-queries.js';
import { inTransaction } from './transaction.js';

/** The account of each email the ledger knows, by id (a report names emails by id). */
export async function accountsOf(db: pg.Pool, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; account: string }>(
    `select id, account from emails where id = any($1::text[]) and state <> 'accepting'`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.account]));
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
