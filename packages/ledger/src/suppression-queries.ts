import type pg from 'pg';
import { sqlLimit } from './sql-limit.js';
import type { Queryable } from './transaction.js';

export interface Suppression {
  address: string;
  reason: string;
  emailId: string | null;
  smtpResponse: string | null;
  createdAt: string;
}

interface Row {
  address: string;
  reason: string;
  email_id: string | null;
  smtp_response: string | null;
  created_at: Date;
}

const toSuppression = (r: Row): Suppression => ({
  address: r.address,
  reason: r.reason,
  emailId: r.email_id,
  smtpResponse: r.smtp_response,
  createdAt: r.created_at.toISOString(),
});

export interface SuppressionWrite {
  address: string;
  reason: string;
  smtpResponse: string | null;
}

/** Suppresses addresses because of `emailId` (a hard bounce, a complaint); an existing entry is kept. */
export async function insertSuppressions(db: Queryable, account: string, emailId: string, suppress: SuppressionWrite[]): Promise<void> {
  if (suppress.length === 0) return;
  await db.query(
    `insert into suppressions (account, address, reason, email_id, smtp_response)
     select $1, a, r, $2, s from unnest($3::text[], $4::text[], $5::text[]) as t(a, r, s)
     on conflict (account, address) do nothing`,
    [account, emailId, suppress.map((x) => x.address), suppress.map((x) => x.reason), suppress.map((x) => x.smtpResponse)],
  );
}

/** Adds an address by hand. Returns the entry, and whether it was new (an existing one is kept as it was). */
export async function addSuppression(
  db: pg.Pool,
  account: string,
  address: string,
  reason: string,
): Promise<{ created: boolean; suppression: Suppression }> {
  const inserted = await db.query<Row>(
    `insert into suppressions (account, address, reason) values ($1, $2, $3)
     on conflict (account, address) do nothing returning address, reason, email_id, smtp_response, created_at`,
    [account, address, reason],
  );
  if (inserted.rows[0]) return { created: true, suppression: toSuppression(inserted.rows[0]) };
  const { rows } = await db.query<Row>(
    'select address, reason, email_id, smtp_response, created_at from suppressions where account = $1 and address = $2',
    [account, address],
  );
  return { created: false, suppression: toSuppression(rows[0] as Row) };
}

/** One page of the account's list, by address; `after` is the last address of the previous page. */
export async function listSuppressions(db: pg.Pool, account: string, limit: number, after?: string): Promise<Suppression[]> {
  const { rows } = await db.query<Row>(
    `select address, reason, email_id, smtp_response, created_at from suppressions
      where account = $1 and ($2::text is null or address > $2) order by address ${sqlLimit(limit)}`,
    [account, after ?? null],
  );
  return rows.map(toSuppression);
}

export async function deleteSuppression(db: pg.Pool, account: string, address: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from suppressions where account = $1 and address = $2', [account, address]);
  return rowCount === 1;
}
