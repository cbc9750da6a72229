import { monotonicMs } from '@postline/runtime';
import type { PartitionMetadata } from 'kafkajs';

/**
 * How long a probe waits for a read before it starts another, and then for either: a probe is
 * answered within twice this, under the kubelet's default probe timeout (1 s), which counts a
 * slower answer as a failure. With 1 s here, e2e 24's probes took 2 s for the first 30 s of a cut
 * whenever the reads in flight had gone to the broker cut off.
 */
export const LEADERS_WAIT_MS = 300;
/**
 * How long the last read that answered still answers a probe whose own reads did not. A read that
 * picked a broker the API cannot reach ends at kafkajs' request timeout (30 s), and e2e 24 saw
 * every read in flight wait that long when the broker cut off was the admin client's first.
 */
export const LEADERS_STALE_MS = 60_000;
/** Reads in flight at most: one that does not answer ends only at kafkajs' request timeout (30 s). */
const MAX_READS = 3;
/** A probe starts a read unless one started this recently. */
const READ_EVERY_MS = 1_000;

/**
 * Whether the emails topic has a leader for every partition, for the API's readiness probe. kafkajs
 * sends each read to a broker it picks, and one the API is cut off from (a partial network
 * partition: the cluster, and the API's sends through the other brokers, are fine) answers nothing
 * until the request times out 30 s later, when the read may fail rather than ask another. With one
 * read per probe, 2 s to answer, and a failure read as "not ready", e2e 24 measured 11 ready answers
 * of 21 while the API accepted 2,000 emails every 5 s. So a probe whose read has not answered after
 * LEADERS_WAIT_MS starts a second (at most MAX_READS in flight), and the answer is the newest read
 * that answered, if that is younger than LEADERS_STALE_MS. A read that fails is no answer: a cluster
 * that refuses every read makes the API unready once the last answer is stale, not at once.
 */
export class LeaderWatch {
  private last: { led: boolean; read: number; at: number } | null = null;
  /** Reads started so far: a read's number orders its answer against the others'. */
  private reads = 0;
  private inFlight = 0;
  private lastStart = Number.NEGATIVE_INFINITY;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly read: () => Promise<PartitionMetadata[] | undefined>,
    /** Each read's partitions (the placement follows the leaders). */
    private readonly onRead: (partitions: PartitionMetadata[]) => void,
    private readonly now: () => number = monotonicMs,
  ) {}

  /** Every partition led, by the newest read that ended (see the class). */
  async led(): Promise<boolean> {
    const asked = this.now();
    if (asked - this.lastStart >= READ_EVERY_MS) this.start();
    for (let wait = 0; wait < 2 && !this.endedSince(asked) && this.inFlight > 0; wait++) {
      if (wait === 1) this.start();
      await this.ended(LEADERS_WAIT_MS);
    }
    const last = this.last;
    return last !== null && last.led && this.now() - last.at < LEADERS_STALE_MS;
  }

  private start(): void {
    if (this.inFlight >= MAX_READS) return;
    const number = ++this.reads;
    this.lastStart = this.now();
    this.inFlight++;
    this.read()
      .then(
        (partitions) => {
          if (partitions) this.onRead(partitions);
          this.record(number, (partitions?.length ?? 0) > 0 && (partitions?.every((p) => p.leader >= 0) ?? false));
        },
        () => {},
      )
      .finally(() => {
        this.inFlight--;
      });
  }

  private record(read: number, led: boolean): void {
    if (this.last && this.last.read > read) return;
    this.last = { led, read, at: this.now() };
    for (const wake of this.waiters.splice(0)) wake();
  }

  private endedSince(asked: number): boolean {
    return this.last !== null && this.last.at >= asked;
  }

  /** Resolves when a read ends, or after `ms`. */
  private ended(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}
