import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { LogSink } from './logger.js';
import { monotonicMs } from './monotonic-clock.js';
import { withTimeout } from './with-timeout.js';

declare module 'fastify' {
  interface FastifyInstance {
    shutdown: ShutdownDeadline;
  }
}

/**
 * One deadline for the whole of a service's shutdown, counted from the start of its close.
 *
 * Why: each wait of a shutdown is bounded on its own (a consumer's stop, the outbox relay's last
 * round, a produce drain, kafkajs' disconnect), and in sequence the bounds add up past
 * SHUTDOWN_TIMEOUT_MS. With a broker cut off, a mailer's close reached it (e2e 27, ci109): the
 * process was then killed mid-close with exit 1, and the closes after it (the ledger pool, the SMTP
 * pool) never ran. Here the waits share what is left: `drain` ends `reserveMs` before the forced
 * exit, so what closes after it still has that long; `close` ends within a second, and `marginMs` before the exit at the latest. A wait
 * given up is logged with what stays where. Only waits for work that is durable elsewhere are
 * given up (events stay in the outbox, uncommitted records are redelivered), so exit 0 is honest.
 */
export class ShutdownDeadline {
  private startedAt: number | null = null;
  private readonly reserveMs: number;
  private readonly marginMs: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly log: LogSink,
  ) {
    this.reserveMs = Math.min(RESERVE_MS, timeoutMs / 5);
    this.marginMs = Math.min(MARGIN_MS, timeoutMs / 10);
  }

  /** The close started (preClose); later calls keep the first moment. */
  begin(): void {
    this.startedAt ??= monotonicMs();
  }

  /** Milliseconds left for draining work (0 once past). */
  drainLeftMs(): number {
    return this.left(this.reserveMs);
  }

  /** Waits for `work` while draining is allowed; past that, logs `left` (what stays where) and returns false. */
  drain(what: string, work: Promise<unknown>, left: string): Promise<boolean> {
    return this.wait(what, work, left, this.reserveMs);
  }

  /**
   * Waits for a last close (a pool) for CLOSE_WAIT_MS at most, and never past `marginMs` before the
   * forced exit. A pool's end waits for the connections in use: none once every drain ended, and
   * otherwise ones that work given up holds until its own timeout, which the exit ends anyway.
   */
  close(what: string, work: Promise<unknown>, left: string): Promise<boolean> {
    return this.wait(what, work, left, this.marginMs, CLOSE_WAIT_MS);
  }

  private left(beforeEndMs: number): number {
    this.begin();
    const endsAt = (this.startedAt as number) + this.timeoutMs - beforeEndMs;
    return Math.max(0, endsAt - monotonicMs());
  }

  private async wait(what: string, work: Promise<unknown>, left: string, beforeEndMs: number, atMostMs = Infinity): Promise<boolean> {
    try {
      // The work goes on past it; the race has handled an error it ends with later.
      await withTimeout(work, Math.min(this.left(beforeEndMs), atMostMs), what, () => EXPIRED);
      return true;
    } catch (error) {
      if (error !== EXPIRED) throw error;
    }
    this.log.warn({ step: what, left, timeoutMs: this.timeoutMs }, 'shutdown deadline: stopped waiting');
    return false;
  }

  /** Ends database pools, the last close of a service: see close(). */
  closePools(what: string, ...pools: { end(): Promise<void> }[]): Promise<boolean> {
    return this.close(
      what,
      Promise.all(pools.map((pool) => pool.end())),
      'connections still in use end with the process (Postgres rolls back their transactions)',
    );
  }
}

/** What the wait for work ends with at the deadline (never the work's own error). */
const EXPIRED = new Error('shutdown deadline');
/** Kept after the drains for the closes after them (pools) and the logger's flush. */
const RESERVE_MS = 4_000;
/** The last closes end this long before close-with-grace's forced exit at the latest: well clear of it. */
const MARGIN_MS = 2_000;
/**
 * A last close's own bound. A pool's end took milliseconds when nothing held a connection; a drain
 * given up held one until its own timeout: the mailer exited 0 at 29.5 s of 30 in e2e 27 (with a
 * 0.5 s margin), and at 28.0 s in e2e 11b (2 s), each waiting on its outbox relay's transaction.
 */
const CLOSE_WAIT_MS = 1_000;

/** Decorates `app.shutdown`; register it first, so its preClose starts the clock before any other. */
export const shutdownPlugin = fp(
  async (app: FastifyInstance, { timeoutMs }: { timeoutMs: number }) => {
    const deadline = new ShutdownDeadline(timeoutMs, app.log);
    app.decorate('shutdown', deadline);
    app.addHook('preClose', async () => deadline.begin());
  },
  { name: 'shutdown' },
);
