import type { StuckEmail } from '@postline/contracts';
import type pg from 'pg';
import { sqlLimit } from './sql-limit.js';

/**
 * An accepted email is stuck when it has had no final outcome for `afterMs` past the time it
 * should have been worked on: queued since it was accepted (or fell due), sending since its claim was taken
 * (every send has a deadline far below that), or retrying since its retry fell due. A long
 * backlog shows here too, which is as it should be: someone is waiting for these emails.
 */
const STUCK = `(
    (state = 'queued' and coalesce(scheduled_at, created_at) < now() - $1 * interval '1 millisecond')
    or (state = 'sending' and updated_at < now() - $1 * interval '1 millisecond')
    or (state = 'retrying' and coalesce(next_attempt_at, updated_at) < now() - $1 * interval '1 millisecond')
  )`;
// Matches the partial index emails_unfinished_idx.
const UNFINISHED = `state in ('queued', 'sending', 'retrying')`;

interface StuckRow {
  id: string;
  account: string;
  state: StuckEmail['status'];
  attempts: number;
  created_at: Date;
  updated_at: Date;
  next_attempt_at: Date | null;
  last_error: string | null;
  kafka_topic: string | null;
  kafka_partition: number | null;
  kafka_offset: string | null;
}

/** The oldest stuck emails first, of one account or of all. */
export async function stuckEmails(
  db: pg.Pool,
  afterMs: number,
  limit: number,
  account?: string,
): Promise<(StuckEmail & { account: string })[]> {
  const { rows } = await db.query<StuckRow>(
    `select id, account, state, attempts, created_at, updated_at, next_attempt_at, last_error, kafka_topic, kafka_partition, kafka_offset
     from emails where ${UNFINISHED} and ${STUCK} and ($2::text is null or account = $2)
     order by created_at ${sqlLimit(limit)}`,
    [afterMs, account ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    account: r.account,
    status: r.state,
    attempts: r.attempts,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    nextAttemptAt: r.next_attempt_at?.toISOString() ?? null,
    lastError: r.last_error,
    kafka:
      // The API records topic and partition after the ack; a mailer's claim adds the offset.
      r.kafka_topic !== null && r.kafka_partition !== null
        ? { topic: r.kafka_topic, partition: r.kafka_partition, offset: r.kafka_offset === null ? null : String(r.kafka_offset) }
        : null,
  }));
}

/** For metrics: how many emails are stuck, and how long the oldest `queued` one has waited. */
export async function unfinishedSummary(db: pg.Pool, afterMs: number): Promise<{ stuck: number; oldestQueuedMs: number }> {
  const { rows } = await db.query<{ stuck: string; oldest_queued_ms: number | null }>(
    `select count(*) filter (where ${STUCK}) as stuck,
       (extract(epoch from now() - min(coalesce(scheduled_at, created_at)) filter (where state = 'queued')) * 1000)::float8 as oldest_queued_ms
     from emails where ${UNFINISHED}`,
    [afterMs],
  );
  return { stuck: Number(rows[0]?.stuck ?? 0), oldestQueuedMs: rows[0]?.oldest_queued_ms ?? 0 };
}
