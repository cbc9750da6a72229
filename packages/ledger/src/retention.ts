import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { sqlLimit } from './sql-limit.js';

export interface PurgeOptions {
  /** Final rows (sent, failed) older than this go. */
  retentionDays: number;
  /**
   * An `accepting` row is an id the API reserved and never confirmed (it died between the
   * reservation and Kafka's ack). Past a day its idempotency key has expired anyway; if the
   * email did reach Kafka, the mailer's claim creates the row again.
   */
  staleAcceptingMs: number;
  /** Rows per delete: each statement holds its locks and WAL for one bounded batch. */
  batchSize: number;
  /** Pause between batches, so the purge never competes with sending for long. */
  pauseMs: number;
  signal?: AbortSignal;
}

/**
 * Retention: deletes old final rows and stale reservations in bounded batches until none are
 * left (or `signal` aborts). Rows still in flight are never deleted. Uses emails_purgeable_idx.
 * Each delete takes its batch as an array (`= any(array(...))`), looked up by key: written as
 * `in (select ...)`, Postgres joined the batch to a scan of the whole table, every batch
 * (202,514 rows read to delete 1,000; retention.test.ts).
 */
export async function purgeExpired(db: pg.Pool, options: PurgeOptions): Promise<number> {
  let total = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const { rowCount } = await db.query(
      `delete from emails where id = any(array(
         select id from emails
          where (state in ('sent', 'failed', 'suppressed', 'canceled') and updated_at < now() - $1 * interval '1 day')
             or (state = 'accepting' and updated_at < now() - $2 * interval '1 millisecond')
          order by updated_at
          ${sqlLimit(options.batchSize)}
          for update skip locked))`,
      [options.retentionDays, options.staleAcceptingMs],
    );
    // Finished webhook deliveries go after the same time (pending ones are still being tried).
    const deliveries = await db.query(
      `delete from webhook_deliveries where ctid = any(array(
         select ctid from webhook_deliveries
          where status <> 'pending' and updated_at < now() - $1 * interval '1 day'
          order by updated_at ${sqlLimit(options.batchSize)} for update skip locked))`,
      [options.retentionDays],
    );
    // Unusable bounce reports kept for inspection, too.
    const reports = await db.query(
      `delete from inbound_reports where id = any(array(
         select id from inbound_reports where received_at < now() - $1 * interval '1 day' order by id ${sqlLimit(options.batchSize)}))`,
      [options.retentionDays],
    );
    // Released retries' keys: a record older than the retention is looked up before it is
    // claimed (the mailer's ledger-memory check), so its key is no longer needed to stop it.
    const retries = await db.query(
      `delete from parked_retries where position = any(array(
         select position from parked_retries where released_at < now() - $1 * interval '1 day'
          order by released_at ${sqlLimit(options.batchSize)} for update skip locked))`,
      [options.retentionDays],
    );
    total += rowCount ?? 0;
    const full = (n: number | null) => (n ?? 0) >= options.batchSize;
    if (![rowCount, deliveries.rowCount, reports.rowCount, retries.rowCount].some(full)) return total;
    await sleep(options.pauseMs, undefined, { signal: options.signal });
  }
}
