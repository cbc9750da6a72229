import type pg from 'pg';
import { prepared } from './prepared.js';
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
      where account = $1 and ($2::text is null or address > $2) order by address limit $3`,
    [account, after ?? null, limit],
  );
  return rows.map(toSuppression);
}

export async function deleteSuppression(db: pg.Pool, account: string, address: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from suppressions where account = $1 and address = $2', [account, address]);
  return rowCount === 1;
}

/** One question to suppressedAmong(): which of `addresses` are on `account`'s list. */
export interface SuppressionLookup {
  account: string;
  addresses: string[];
}

const suppressedStatement = prepared(
  'suppressed-among',
  `select q.i, q.address from unnest($1::int[], $2::text[], $3::text[]) as q(i, account, address)
       where exists (select from suppressions s where s.account = q.account and s.address = q.address)`,
);

/**
 * For each lookup, its addresses that are suppressed, in one statement for all of them: the API
 * asks once per request, and concurrent requests share the round trip.
 */
export async function suppressedAmong(db: Queryable, lookups: SuppressionLookup[]): Promise<string[][]> {
  const found = lookups.map((): string[] => []);
  const index: number[] = [];
  const accounts: string[] = [];
  const addresses: string[] = [];
  lookups.forEach((lookup, i) => {
    for (const address of lookup.addresses) {
      index.push(i);
      accounts.push(lookup.account);
      addresses.push(address);
    }
  });
  if (index.length === 0) return found;
  const { rows } = await db.query<{ i: number; address: string }>(suppressedStatement([index, accounts, addresses]));
  for (const row of rows) found[row.i]?.push(row.address);
  return found;
}
