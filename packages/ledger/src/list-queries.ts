import type { EmailStatus } from '@postline/contracts';
import type pg from 'pg';
import { sqlLimit } from './sql-limit.js';
import { type RecipientRow, STATUS_COLUMNS, type StatusRow, toEmailStatus } from './status-queries.js';

export interface ListPage {
  /** Newest first, as the page's cursor asked. */
  emails: EmailStatus[];
  /** More emails lie beyond the page in the direction it was read (older after `after`, newer before `before`). */
  hasMore: boolean;
}

export type ListCursor = { after: string } | { before: string } | null;

/**
 * One page of an account's emails, newest first, by a cursor that is an email id (Resend's
 * pagination): `after` gives the ones older than it, `before` the ones newer. Keyset order on
 * (created_at, id) over emails_account_created_idx (account, created_at), so a page costs its own
 * rows whatever the ledger holds, and emails accepted meanwhile do not shift the pages already read.
 * Many emails share a created_at (the API writes a micro-batch's rows in one statement): the id
 * orders them, after the index scan, in memory; the id is not in the index, where it cost each
 * email about 130 bytes more of WAL (docs/benchmarks.md). Rows the API
 * reserved and Kafka never acknowledged ('accepting') are not emails yet: never listed. Null when
 * the cursor names no email of the account (unknown, another account's, or purged by retention).
 */
export async function listEmails(db: pg.Pool, account: string, limit: number, cursor: ListCursor): Promise<ListPage | null> {
  let bound: { created_at: string; id: string } | undefined;
  const cursorId = cursor && ('after' in cursor ? cursor.after : cursor.before);
  if (cursorId) {
    // As text: a JS Date keeps milliseconds, created_at has microseconds, and a bound rounded
    // down would repeat or skip the emails of the cursor's millisecond.
    const { rows } = await db.query<{ created_at: string; id: string }>(
      `select created_at::text as created_at, id from emails where id = $1 and account = $2 and state <> 'accepting'`,
      [cursorId, account],
    );
    bound = rows[0];
    if (!bound) return null;
  }
  const newer = cursor !== null && 'before' in cursor;
  // Separate texts, not one with `$3 is null or …`: the ledger's sessions plan generically, and a
  // generic plan of an OR over a parameter cannot tell which branch a run takes.
  const where = !bound ? '' : newer ? 'and (created_at, id) > ($2::timestamptz, $3)' : 'and (created_at, id) < ($2::timestamptz, $3)';
  const order = newer ? 'created_at, id' : 'created_at desc, id desc';
  const { rows } = await db.query<StatusRow>(
    `select ${STATUS_COLUMNS} from emails
      where account = $1 and state <> 'accepting' ${where}
      order by ${order} ${sqlLimit(limit + 1)}`,
    bound ? [account, bound.created_at, bound.id] : [account],
  );
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  if (newer) page.reverse();
  const recipients = await recipientsOf(
    db,
    page.map((r) => r.id),
  );
  return { emails: page.map((r) => toEmailStatus(r, recipients.get(r.id) ?? [])), hasMore };
}

async function recipientsOf(db: pg.Pool, ids: string[]): Promise<Map<string, RecipientRow[]>> {
  const byEmail = new Map<string, RecipientRow[]>();
  if (ids.length === 0) return byEmail;
  const { rows } = await db.query<RecipientRow & { email_id: string }>(
    'select email_id, address, status, smtp_response, updated_at from email_recipients where email_id = any($1) order by email_id, address',
    [ids],
  );
  for (const { email_id, ...r } of rows) {
    const list = byEmail.get(email_id);
    if (list) list.push(r);
    else byEmail.set(email_id, [r]);
  }
  return byEmail;
}
