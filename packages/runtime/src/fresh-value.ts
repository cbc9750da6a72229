import { monotonicMs } from './monotonic-clock.js';

/**
 * A value read again once it is `maxAgeMs` old, for answers that may be a little stale but must
 * not cost a round trip each (the API's readiness, the webhook endpoints). Callers that come while
 * a read is under way share it, so a burst of probes makes one request. A failed read is not
 * kept: the next caller reads again. Ages are on the monotonic clock: measured with Date.now(), a
 * step of the wall clock back by an hour kept the value "fresh" for that hour.
 */
export class FreshValue<T> {
  private value: T | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<T> | null = null;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = monotonicMs,
  ) {}

  /** The value, read again if it is `maxAgeMs` old (or `force`: read now, or join the read under way). */
  async get(force = false): Promise<T> {
    if (!force && this.now() - this.readAt < this.maxAgeMs) return this.value as T;
    this.reading ??= this.read()
      .then((value) => {
        this.value = value;
        this.readAt = this.now();
        return value;
      })
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}
