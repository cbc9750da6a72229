export interface BatcherOptions<T = unknown> {
  /** How long the first record waits for company (0: it is sent at once, unless `sameTurn`). */
  lingerMs: number;
  /**
   * With no linger, wait for the end of the event-loop turn, so what one turn enqueues shares a
   * send. The API's row inserts: the requests one produce's ack resumes all record their rows in
   * that turn, and sent at once the first went alone while the rest waited for it (half the inserts
   * carried one row; docs/benchmarks.md, G3). Not the mailer's: at 100 emails/s it measured slower.
   */
  sameTurn?: boolean;
  /**
   * While a send is in flight, what queues goes once its oldest unit is this old (or the batch is
   * full), not as soon as a slot frees: under load batches grow with the rate instead of with the
   * length of the send in flight, and a unit that finds nothing in flight is not held by it. For
   * work whose wait nobody sees (the mailer's outcomes: the message is out, only the offset waits).
   */
  busyLingerMs?: number;
  /** Items per send at most (a unit is never split). */
  maxBatch: number;
  /** Sends in flight at once. */
  maxInFlight: number;
  /** A unit's ack deadline: past it, its promise rejects (and, if not sent yet, it never is). */
  timeoutMs: number;
  /** Bytes per send at most, as `of` weighs the items (a unit is never split: one larger goes alone). */
  bytes?: { max: number; of(item: T): number };
}

interface Unit<T> {
  items: T[];
  /** Its bytes as `options.bytes.of` weighs them, once at enqueue (a value can be megabytes to scan). */
  weight: number;
  resolve(): void;
  reject(error: Error): void;
  settled: boolean;
  timer: NodeJS.Timeout;
  /** performance.now() at enqueue. */
  at: number;
}

export class AckTimeoutError extends Error {
  override readonly name = 'AckTimeoutError';
}

/**
 * Groups concurrent requests into one send (a produce, a ledger insert): a request waits at most
 * `lingerMs` for others, and while a send is in flight the next batch accumulates. Each request
 * (a "unit": one email, or a whole batch request) still resolves only when its own items are sent.
 */
export class MicroBatcher<T> {
  private queue: Unit<T>[] = [];
  /** Items in `queue`, kept as it changes rather than summed at every enqueue. */
  private queuedItems = 0;
  /** Sends holding a slot (a send released early no longer does). */
  private inFlight = 0;
  /** Sends not yet settled, released or not: drain() waits for these. */
  private unsettled = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private turnEnd: NodeJS.Immediate | null = null;
  private idle: (() => void)[] = [];

  /**
   * `send` may call its `release` to free its slot before it settles: the next batch may then go
   * while it is still in flight (the API's send to a broker that does not answer, kafka-producer.ts),
   * and its own units still settle with it.
   */
  constructor(
    private readonly send: (items: T[], release: () => void) => Promise<void>,
    private readonly options: BatcherOptions<T>,
  ) {}

  get pending(): number {
    return this.queue.length + this.unsettled;
  }

  enqueue(items: T[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const unit: Unit<T> = {
        items,
        weight: this.weigh(items),
        settled: false,
        at: performance.now(),
        resolve: () => settle(unit, () => resolve()),
        reject: (e) => settle(unit, () => reject(e)),
        timer: setTimeout(() => {
          // Still queued: drop it, so a request answered 503 is never produced afterwards.
          const at = this.queue.indexOf(unit);
          if (at >= 0) {
            this.queue.splice(at, 1);
            this.queuedItems -= unit.items.length;
          }
          unit.reject(new AckTimeoutError(`not acknowledged within ${this.options.timeoutMs} ms`));
        }, this.options.timeoutMs),
      };
      const settle = (u: Unit<T>, fn: () => void) => {
        if (u.settled) return;
        u.settled = true;
        clearTimeout(u.timer);
        fn();
      };
      this.queue.push(unit);
      this.queuedItems += items.length;
      if (this.queuedItems >= this.options.maxBatch) this.flush();
      else if (this.inFlight > 0 && this.options.busyLingerMs) this.flushWhenDue();
      else if (this.options.lingerMs > 0) this.lingerTimer ??= setTimeout(() => this.flush(), this.options.lingerMs);
      else if (this.options.sameTurn) this.turnEnd ??= setImmediate(() => this.flush());
      else this.flush();
    });
  }

  private flush(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (this.turnEnd) {
      clearImmediate(this.turnEnd);
      this.turnEnd = null;
    }
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch: Unit<T>[] = [];
      let size = 0;
      let bytes = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0] as Unit<T>;
        if (
          batch.length > 0 &&
          (size + next.items.length > this.options.maxBatch || bytes + next.weight > (this.options.bytes?.max ?? Number.POSITIVE_INFINITY))
        )
          break;
        batch.push(next);
        size += next.items.length;
        bytes += next.weight;
        this.queue.shift();
        this.queuedItems -= next.items.length;
      }
      this.inFlight++;
      this.unsettled++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.inFlight--;
        // What queued meanwhile has already waited: send it now (or once it is busyLingerMs old).
        if (this.queue.length > 0) this.flushWhenDue();
      };
      this.send(
        batch.flatMap((u) => u.items),
        release,
      )
        .then(
          () => {
            for (const u of batch) u.resolve();
          },
          (error: Error) => {
            for (const u of batch) u.reject(error);
          },
        )
        .finally(() => {
          this.unsettled--;
          release();
          if (this.unsettled === 0 && this.queue.length === 0) for (const done of this.idle.splice(0)) done();
        });
    }
  }

  private flushWhenDue(): void {
    const oldest = this.queue[0] as Unit<T>;
    const wait = oldest.at + (this.options.busyLingerMs ?? 0) - performance.now();
    if (wait > 0 && this.queuedItems < this.options.maxBatch) {
      // Always from the oldest unit: a timer set for a younger one would hold it past its linger.
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.lingerTimer = setTimeout(() => this.flush(), wait);
    } else this.flush();
  }

  private weigh(items: T[]): number {
    const of = this.options.bytes?.of;
    return of ? items.reduce((n, item) => n + of(item), 0) : 0;
  }

  /** Sends whatever is queued and resolves when nothing is in flight (for shutdown). */
  async drain(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
