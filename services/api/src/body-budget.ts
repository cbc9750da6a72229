/** How long a body waits for room before it is refused (HTTP 503 with Retry-After; SMTP 451). */
export const BODY_WAIT_MS = 10_000;

/** Gives back the room held, all but `keep` bytes of it. */
export type Release = (keep?: number) => void;

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
  private readonly byOwner = new Map<string, number>();
  private readonly waiting: { bytes: number; owner: string; grant(): void }[] = [];
  /** The most one owner holds at once: all but room for one largest body of another. */
  readonly share: number;

  /**
   * `largestBody`: the largest body anyone may send. One owner (an account; on the bounce
   * listener, a client address) holds at most the capacity less that much, so another always finds
   * room for one body of any size allowed. Why: a key holder who declared 4 MiB bodies and sent
   * a byte now and then held all of the room (each for up to REQUEST_TIMEOUT_MS, again and
   * again), and every other account's email waited BODY_WAIT_MS and got a 503. With the defaults
   * (24 MiB, bodies up to 5 MiB) one account holds at most 19 MiB. When the capacity is no more
   * than two largest bodies, the share is one largest body.
   */
  constructor(
    readonly capacity: number,
    largestBody = capacity,
  ) {
    this.share = Math.max(Math.min(largestBody, capacity), capacity - largestBody);
  }

  /** Bytes held now (for metrics and tests). */
  get inUse(): number {
    return this.used;
  }

  /** Bytes one owner holds now. */
  heldBy(owner: string): number {
    return this.byOwner.get(owner) ?? 0;
  }

  /**
   * Resolves with a release function (safe to call twice) once `bytes` fit, in all and in
   * `owner`'s share, or with null after `waitMs`. More than the share is counted as the share.
   * `release(keep)` gives back all but `keep` bytes (room reserved for the most a request may
   * render, then kept for what it did render); `release()` gives back the rest.
   */
  acquire(bytes: number, waitMs: number, owner: string): Promise<Release | null> {
    const size = Math.min(Math.max(0, bytes), this.share);
    if (this.fits(size, owner)) return Promise.resolve(this.take(size, owner));
    return new Promise((resolve) => {
      const entry = {
        bytes: size,
        owner,
        grant: () => {
          clearTimeout(timer);
          resolve(this.take(size, owner));
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        resolve(null);
      }, waitMs);
      this.waiting.push(entry);
    });
  }

  private fits(size: number, owner: string): boolean {
    return this.used + size <= this.capacity && this.heldBy(owner) + size <= this.share;
  }

  private take(size: number, owner: string): Release {
    this.used += size;
    this.byOwner.set(owner, this.heldBy(owner) + size);
    let held = size;
    return (keep = 0) => {
      const drop = held - Math.min(Math.max(0, keep), held);
      if (drop === 0) return;
      held -= drop;
      this.used -= drop;
      const left = this.heldBy(owner) - drop;
      if (left > 0) this.byOwner.set(owner, left);
      else this.byOwner.delete(owner);
      this.admit();
    };
  }

  /** In arrival order, every waiter that fits now. */
  private admit(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const entry = this.waiting[i] as (typeof this.waiting)[number];
      if (!this.fits(entry.bytes, entry.owner)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      entry.grant();
    }
  }
}
