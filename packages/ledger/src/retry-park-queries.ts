import type pg from 'pg';
import type { Release } from './schedule-queries.js';
import { sqlLimit } from './sql-limit.js';
import { inTransaction, type Queryable } from './transaction.js';

/** Kafka record headers as text (every header postline writes is text). */
export type RecordHeaders = Record<string, string | string[]>;

/** A retry record read before it was due, to be appended to its topic again when it is. */
export interface RetryToPark {
  /** Where the record sits: topic/partition/offset. One record is parked at most once. */
  position: string;
  topic: string;
  emailId: string;
  /** How long until it is due, by the clock of the mailer that read it. */
  waitMs: number;
  /** The record's value, as it was read. */
  record: string;
  headers: RecordHeaders;
}

export interface ParkedRetry {
  position: string;
  topic: string;
  emailId: string;
  record: string;
  headers: RecordHeaders;
  dueAt: Date;
}

/**
 * Parks a retry record until due. The due time is Postgres' now() plus the wait the mailer
 * measured, not the record's own time: the release compares it with Postgres' clock, and a
 * mailer whose clock is behind Postgres' would otherwise read a released record as not yet due,
 * park it again, and see it released again at once, round and round. A record already parked, or
 * already parked and released, is left as it is (on conflict: nothing). True: parked by this call.
 */
export async function parkRetry(db: Queryable, r: RetryToPark): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into parked_retries (position, topic, email_id, due_at, record, headers)
     values ($1, $2, $3, now() + $4 * interval '1 millisecond', $5, $6::jsonb)
     on conflict (position) do nothing`,
    [r.position, r.topic, r.emailId, Math.max(0, Math.round(r.waitMs)), r.record, JSON.stringify(r.headers)],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Whether the record at `position` was parked (released or not). Such a record, read again once
 * due (after a crash, before its offset was committed), is not claimed: its copy appended at the
 * release, or to be, is the one that tries the email.
 */
export async function wasParked(db: Queryable, position: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from parked_retries where position = $1', [position]);
  return rows.length > 0;
}

/**
 * Releases up to `limit` due retries parked from `topics` (those the releasing mailer reads: a
 * ledger shared by deployments with other topic names keeps theirs): `publish` appends them to
 * their topics (acks=all), and in the same transaction, which holds their row locks (several
 * mailers share the work: SKIP LOCKED), they are marked released. A crash after the publish and
 * before the commit publishes them again: a second copy of a retry record, which the claim lets
 * send the email once.
 */
export async function releaseDueRetries(
  pool: pg.Pool,
  topics: readonly string[],
  limit: number,
  horizonMs: number,
  publish: (due: ParkedRetry[]) => Promise<void>,
): Promise<Release> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<ParkedRetry>(
      `select position, topic, email_id as "emailId", record, headers, due_at as "dueAt" from parked_retries
        where released_at is null and due_at <= now() and topic = any($1::text[])
        order by due_at ${sqlLimit(limit)}
        for update skip locked`,
      [topics],
    );
    const nextDueMs = () => (rows.length < limit ? nextRetryDueInMs(client, topics, horizonMs) : null);
    if (rows.length === 0) return { released: 0, nextDueMs: await nextDueMs() };
    await publish(rows);
    await client.query(`update parked_retries set released_at = now(), record = null, headers = null where position = any($1::text[])`, [
      rows.map((r) => r.position),
    ]);
    return { released: rows.length, nextDueMs: await nextDueMs() };
  });
}

/** Milliseconds until the next retry parked from `topics` within `horizonMs` falls due (0: due now); null: none. */
async function nextRetryDueInMs(db: Queryable, topics: readonly string[], horizonMs: number): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>(
    `select greatest(0, extract(epoch from min(due_at) - now()) * 1000)::float8 as ms from parked_retries
      where released_at is null and due_at <= now() + $2 * interval '1 millisecond' and topic = any($1::text[])`,
    [topics, horizonMs],
  );
  return rows[0]?.ms ?? null;
}

/** For the audit's gauge: parked retries past their due time and not yet released. */
export async function overdueRetries(db: Queryable): Promise<{ overdue: number; oldestOverdueMs: number }> {
  const { rows } = await db.query<{ overdue: number; oldest_ms: number | null }>(
    `select count(*)::int as overdue, (extract(epoch from now() - min(due_at)) * 1000)::float8 as oldest_ms
       from parked_retries where released_at is null and due_at <= now()`,
  );
  return { overdue: rows[0]?.overdue ?? 0, oldestOverdueMs: rows[0]?.oldest_ms ?? 0 };
}
