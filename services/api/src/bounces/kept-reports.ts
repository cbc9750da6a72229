import { keepReport } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import type pg from 'pg';

/** How much of a report nobody could use is kept: its headers and the start of its parts. */
export const KEPT_BYTES = 64 * 1024;

/** Unusable reports kept an hour, by one listener process; past them they are counted, not kept. */
export const KEPT_PER_HOUR = 100;

export interface Unusable {
  reason: string;
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
}

/**
 * Keeps unusable reports in the ledger for an operator to read, at most KEPT_PER_HOUR of them.
 * Why a bound: anyone on the internet can send this listener mail that is not a report, and every
 * one was kept (256 KiB each): twenty a second, 5 MB/s of traffic, would write 18 GB an hour (reckoned,
 * not run) into the Postgres that holds the ledger, and a full disk there stops every mailer. Bounded, one process
 * writes at most 6.4 MB an hour.
 */
export function reportKeeper(db: pg.Pool, log: LogSink, now = () => Date.now()): (report: Unusable) => Promise<boolean> {
  let hour = -1;
  let kept = 0;
  return async ({ reason, mailFrom, rcptTo, raw }) => {
    const current = Math.floor(now() / 3_600_000);
    if (current !== hour) {
      hour = current;
      kept = 0;
    }
    if (kept >= KEPT_PER_HOUR) return false;
    // Counted before the write: concurrent reports cannot all pass the check while it runs.
    if (++kept === KEPT_PER_HOUR) log.warn({ kept }, 'unusable reports: the hour’s allowance is used; more are counted, not kept');
    await keepReport(db, { reason, mailFrom, rcptTo, raw: raw.subarray(0, KEPT_BYTES).toString('utf8') });
    return true;
  };
}
