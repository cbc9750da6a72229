import type { Release } from '@postline/ledger';
import { BatchDrain } from '@postline/runtime';

/**
 * How often a releaser looks for due records when it knows of none due sooner. After each round
 * it reads when the next one is due (one index probe) and wakes then, and a park of one due within
 * the tick wakes it too: a release is late by a timer's precision and a transaction, not by up to
 * a tick (the end-to-end p99 target is 5 s). Emails rescheduled through the API into the next
 * tick are found by the next look, within this.
 */
export const RELEASE_TICK_MS = 1_000;
/**
 * The shortest sleep between looks: records falling due every few milliseconds are released a
 * few hundred at a time, not one transaction and one produce each (measured: per-email rounds
 * cost the consumer more CPU than they saved in lateness).
 */
const MIN_WAKE_MS = 250;
/** Records per transaction: one produce, one update. A backlog is released batch after batch. */
const BATCH = 500;

/**
 * The loop of a releaser (scheduled emails, parked retries): a round releases what is due, a
 * batch at a time, on a tick and when something parked falls due sooner. Several mailers share
 * the work through the ledger's row locks; nothing is kept in memory but the next wake-up.
 */
export class ReleaseLoop {
  private readonly drain: BatchDrain;
  /** The earliest wake-up set for a due time within the tick, and when it fires. */
  private wake: { timer: NodeJS.Timeout; at: number } | null = null;
  private stopped = false;

  constructor(
    private readonly release: (limit: number, horizonMs: number) => Promise<Release>,
    onError: (error: unknown) => void,
    private readonly tickMs = RELEASE_TICK_MS,
  ) {
    this.drain = new BatchDrain(() => this.round(), BATCH, tickMs, onError);
  }

  start(): void {
    this.drain.start();
  }

  /** Something due at `at` (ms since the epoch) was just parked: release it then, not at the next tick. */
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
    const { released, nextDueMs: ms } = await this.release(BATCH, this.tickMs);
    // Read in the release's transaction, so 0 is one due when it looked that it did not take:
    // another mailer's release holds it (SKIP LOCKED), maybe for a slow produce. After a round
    // that released none, the tick looks again, never a tight loop; after one that released some,
    // soon. More than 0: wake then, even if it is due by now. +1: due is compared with <=.
    if (ms !== null && (ms > 0 || released > 0)) this.dueAt(Date.now() + ms + 1);
    return released;
  }

  /** No new rounds; the one in progress ends after its batch (what it has not released stays parked). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.wake) clearTimeout(this.wake.timer);
    this.wake = null;
    await this.drain.stop(false);
  }
}
