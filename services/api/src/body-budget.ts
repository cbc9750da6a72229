/** How long a body waits for room before it is refused (HTTP 503 with Retry-After; SMTP 451). */
export const BODY_WAIT_MS = 10_000;

/**
 * The request-body bytes the API holds at once, HTTP and SMTP submission together.
 *
 * Why: the services run with a bounded V8 heap (SERVICE_NODE_OPTIONS), and a body costs a few
 * times its size while it is parsed, validated and serialised. Without a bound, a handful of
 * concurrent 4 MB requests from one key holder would exhaust that heap and crash the process
 * (every request in flight with it). With it, a body that does not fit waits — before any of it
 * is read, so the bytes stay in the kernel's socket buffers — and is refused only after
 * `waitMs`. A body that fits never waits behind one that does not: the small requests of
 * ordinary traffic are not held up by a large one.
 */
export class BodyBudget {
  private used = 0;
  private readonly waiting: { bytes: number; grant(): void }[] = [];

  constructor(readonly capacity: number) {}

  /** Bytes held now (for metrics and tests). */
  get inUse(): number {
    return this.used;
  }

  /**
   * Resolves with a release function (safe to call twice) once `bytes` fit, or with null after
   * `waitMs`. More than the capacity is counted as the capacity: it runs alone.
   */
  acquire(bytes: number, waitMs: number): Promise<(() => void) | null> {
    const size = Math.min(Math.max(0, bytes), this.capacity);
    if (this.used + size <= this.capacity) return Promise.resolve(this.take(size));
    return new Promise((resolve) => {
      const entry = {
        bytes: size,
        grant: () => {
          clearTimeout(timer);
          resolve(this.take(size));
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        resolve(null);
      }, waitMs);
      this.waiting.push(entry);
    });
  }

  private take(size: number): () => void {
    this.used += size;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.used -= size;
      this.admit();
    };
  }

  /** In arrival order, every waiter that fits now. */
  private admit(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const entry = this.waiting[i] as (typeof this.waiting)[number];
      if (this.used + entry.bytes > this.capacity) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      entry.grant();
    }
  }
}
