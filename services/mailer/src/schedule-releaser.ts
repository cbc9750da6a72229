import { type EmailEvent, ENVELOPE_HEADERS, queuedEvent } from '@postline/contracts';
import { type DueEmail, releaseDue } from '@postline/ledger';
import { BatchDrain, type LogSink } from '@postline/runtime';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import type { MailerMetrics } from './plugins/metrics.js';

/**
 * How often each mailer looks for due emails when it knows of none due sooner. After each round
 * it reads when the next one is due (one index probe) and wakes then, and a park of an email due
 * within the tick wakes it too: a release is late by a timer's precision and a transaction, not
 * by up to a tick (the end-to-end p99 target is 5 s). Emails rescheduled through the API into
 * the next tick are found by the next look, within this.
 */
export const RELEASE_TICK_MS = 1_000;
/**
 * The shortest sleep between looks: emails falling due every few milliseconds are released a
 * few hundred at a time, not one transaction and one produce each (measured: per-email rounds
 * cost the consumer more CPU than they saved in lateness).
 */
const MIN_WAKE_MS = 250;
/** Emails per transaction: one produce, one update. A backlog is released batch after batch. */
const BATCH = 500;

/**
 * Puts due scheduled emails back on the requests topic, as the records they were, from where
 * any mailer sends them like any other email (claim, retries, dead letters). Nothing about the
 * schedule is kept in memory: RSS does not grow with the number of scheduled emails.
 */
export class ScheduleReleaser {
  private readonly drain: BatchDrain;
  /** The earliest wake-up set for a due time within the tick, and when it fires. */
  private wake: { timer: NodeJS.Timeout; at: number } | null = null;
  private stopped = false;

  constructor(
    private readonly db: pg.Pool,
    private readonly produce: (messages: Message[]) => Promise<void>,
    private readonly metrics: MailerMetrics,
    private readonly log: LogSink,
    private readonly tickMs = RELEASE_TICK_MS,
  ) {
    this.drain = new BatchDrain(
      () => this.round(),
      BATCH,
      tickMs,
      (error) => {
        metrics.releaseErrors.inc();
        log.warn({ err: error }, 'schedule release round failed; the emails stay scheduled');
      },
    );
  }

  start(): void {
    this.drain.start();
  }

  /** An email due at `at` (ms since the epoch) was just parked: release it then, not at the next tick. */
  dueAt(at: number): void {
    const ms = at - Date.now();
    if (this.stopped || ms >= this.tickMs) return;
    if (this.wake && this.wake.at <= at) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(
      () => {
        this.wake = null;
        this.drain.nudge();
      },
      Math.max(MIN_WAKE_MS, ms),
    );
    timer.unref();
    this.wake = { timer, at };
  }

  private async round(): Promise<number> {
    const { released, nextDueMs: ms } = await releaseDue(this.db, BATCH, this.tickMs, (due) => this.publish(due));
    // Read in the release's transaction, so 0 is an email due when it looked that it did not
    // take: another mailer's release holds it (SKIP LOCKED), maybe for a slow produce. After a
    // round that released none, the tick looks again, never a tight loop; after one that released
    // some, soon. More than 0: wake then, even if it is due by now. +1: due is compared with <=.
    if (ms !== null && (ms > 0 || released > 0)) this.dueAt(Date.now() + ms + 1);
    return released;
  }

  private async publish(due: DueEmail[]): Promise<EmailEvent[]> {
    await this.produce(due.map((d) => ({ key: d.id, value: d.envelope, headers: { ...ENVELOPE_HEADERS } })));
    const now = new Date();
    for (const d of due) this.metrics.releaseLateness.observe(Math.max(0, now.getTime() - d.scheduledAt.getTime()) / 1000);
    this.metrics.released.inc(due.length);
    this.log.info({ released: due.length }, 'scheduled emails released');
    // Their `queued` event, at the time they became due for sending (the claim writes the same id).
    return due.map((d) =>
      queuedEvent({ id: d.id, account: d.account, acceptedAt: now.toISOString(), email: { tags: tagsOf(d.envelope) } }),
    );
  }

  /** No new rounds; the one in progress ends after its batch (what it has not released stays scheduled). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.wake) clearTimeout(this.wake.timer);
    this.wake = null;
    await this.drain.stop(false);
  }
}

function tagsOf(envelope: string): Record<string, string> | undefined {
  try {
    return (JSON.parse(envelope) as { email?: { tags?: Record<string, string> } }).email?.tags;
  } catch {
    return undefined;
  }
}
