import { monotonicMs } from './monotonic-clock.js';

/**
 * A round of work run on a tick and on demand, never two at once: a nudge during a round asks
 * for exactly one more after it. The outbox relay (events just written) and the webhook
 * deliverer (a slot just freed) both run this way; the tick catches work nobody nudged for.
 * `round` must not throw: it handles (logs, counts) its own failures.
 */
export class CoalescedLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private gapTimer: NodeJS.Timeout | null = null;

  /**
   * `minGapMs`: rounds start at least this far apart; nudges meanwhile wait and make one round.
   * `now`: the clock the gap is measured on (a test's mock clock; monotonic by default).
   */
  constructor(
    private readonly round: () => Promise<void>,
    private readonly tickMs: number,
    private readonly minGapMs = 0,
    private readonly now: () => number = monotonicMs,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.nudge(), this.tickMs);
    this.timer.unref();
    this.nudge();
  }

  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = this.lastStart + this.minGapMs - this.now();
    if (wait > 0) {
      this.gapTimer ??= setTimeout(() => {
        this.gapTimer = null;
        this.nudge();
      }, wait);
      return;
    }
    this.lastStart = this.now();
    this.running = this.round().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.nudge();
      }
    });
  }

  /** No more rounds; waits for the one in progress. `lastRound`: one more runs after it first. */
  async stop(lastRound = false): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
    if (lastRound) {
      await this.running;
      this.lastStart = Number.NEGATIVE_INFINITY;
      this.nudge();
    }
    this.stopped = true;
    await this.running;
  }
}

/**
 * A CoalescedLoop whose round drains a backlog in batches: `batch` takes up to `size` items and
 * says how many it took; the round goes on while batches come back full. Once stopping, a round
 * takes one more batch at most, so a backlog never holds up a shutdown. The outbox relay and the
 * schedule releaser run this way.
 */
export class BatchDrain {
  private readonly loop: CoalescedLoop;
  private stopping = false;

  constructor(
    private readonly batch: () => Promise<number>,
    private readonly size: number,
    tickMs: number,
    /** A batch failed: the round ends, and the next tick tries again. */
    private readonly onError: (error: unknown) => void,
    minGapMs = 0,
  ) {
    this.loop = new CoalescedLoop(() => this.drain(), tickMs, minGapMs);
  }

  start(): void {
    this.loop.start();
  }

  nudge(): void {
    this.loop.nudge();
  }

  private async drain(): Promise<void> {
    try {
      while ((await this.batch()) >= this.size && !this.stopping);
    } catch (error) {
      this.onError(error);
    }
  }

  /** `lastRound`: one more round (of one batch) after the one in progress. */
  async stop(lastRound: boolean): Promise<void> {
    this.stopping = true;
    await this.loop.stop(lastRound);
  }
}
