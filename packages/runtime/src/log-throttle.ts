import { monotonicMs } from './monotonic-clock.js';

/**
 * A warning that every request repeats while a dependency is down (a Postgres outage at a few
 * thousand requests a second was a line a request: 5,143 in the 10 s of an e2e scenario) is
 * logged once an interval per message, with how many were left out since the line before. The
 * first is logged at once, so an outage shows the moment it starts; the exact counts are in
 * the metrics. One per process (the API decorates its instance with one).
 */
export class LogThrottle {
  private readonly seen = new Map<string, { at: number; skipped: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = monotonicMs,
  ) {}

  /** `key`: what counts as the same warning (the message by default; e.g. the message and an error code). */
  warn(
    log: { warn(fields: Record<string, unknown>, message: string): void },
    fields: Record<string, unknown>,
    message: string,
    key = message,
  ): void {
    const at = this.now();
    const last = this.seen.get(key);
    if (last && at - last.at < this.intervalMs) {
      last.skipped++;
      return;
    }
    this.seen.set(key, { at, skipped: 0 });
    log.warn(last?.skipped ? { ...fields, skipped: last.skipped } : fields, message);
  }
}
