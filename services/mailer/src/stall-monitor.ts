import { monotonicMs } from '@postline/runtime';

/** One partition as this mailer sees it. */
interface PartitionState {
  topic: string;
  partition: number;
  /** Offsets of records being handled now → when each started. */
  inFlight: Map<string, number>;
  /** Last time the partition moved: a record finished, a record was deferred on purpose, its committed offset changed. */
  movedAt: number;
  /** It is paused on purpose (retry not due, SMTP or ledger down) until then. */
  waitingUntil: number;
  /**
   * Records that ended in an error (tried again each second) and have not since ended otherwise →
   * when each first failed. Keyed by offset: the records after one, fetched again behind it and
   * skipped as already done, are not its progress.
   */
  failing: Map<string, number>;
  /** Records between the group's position and the end of the partition, as last seen. */
  lag: number;
  committed: string | null;
}

export interface Stall {
  topic: string;
  partition: number;
  /** Since when it has had work and not moved. */
  sinceMs: number;
  lag: number;
  oldestOffset: string | null;
  /** Its records keep ending in errors (a produce refused, a bug), rather than nothing moving at all. */
  failing: boolean;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Knows, for each assigned partition, whether it is moving. A partition is stalled when it has
 * work (records in flight, or lag) and has neither advanced nor been paused on purpose for
 * `stallMs`. That is never the normal state of a healthy mailer: every send has a deadline and
 * every wait is a deliberate pause with a resume time. So a stall means this process is broken
 * (a promise that never settles, a consumer that stopped fetching), and the way out is to
 * replace it: its uncommitted records go to another member. A partition whose records keep ending
 * in errors for `stallMs` is stalled too: tried again each second, it moves nowhere.
 */
export class StallMonitor {
  private readonly partitions = new Map<string, PartitionState>();
  /** Last movement on any partition: the consumer as a whole is alive. */
  private anyMovedAt: number;

  constructor(
    private readonly stallMs: number,
    private readonly now: () => number = monotonicMs,
  ) {
    this.anyMovedAt = now();
  }

  /** The group gave us these partitions (a rebalance): forget the others, start the clock for new ones. */
  assigned(assignment: Record<string, number[]>): void {
    const keep = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = keyOf(topic, partition);
        keep.add(key);
        if (!this.partitions.has(key)) this.partitions.set(key, this.fresh(topic, partition));
      }
    }
    for (const key of [...this.partitions.keys()]) if (!keep.has(key)) this.partitions.delete(key);
  }

  started(topic: string, partition: number, offset: string): void {
    this.state(topic, partition).inFlight.set(offset, this.now());
  }

  finished(topic: string, partition: number, offset: string): void {
    const s = this.state(topic, partition);
    s.inFlight.delete(offset);
    s.failing.delete(offset);
    s.movedAt = this.anyMovedAt = this.now();
  }

  /**
   * A record ended in an error and will be tried again. Not movement: a record that fails every
   * time (a produce refused for good, a bug) would otherwise keep its partition looking alive for
   * ever while nothing gets through; it is judged on its own, as a record in flight is.
   */
  failed(topic: string, partition: number, offset: string): void {
    const s = this.state(topic, partition);
    s.inFlight.delete(offset);
    if (!s.failing.has(offset)) s.failing.set(offset, this.now());
  }

  /** The partition was paused on purpose and resumes in `ms`. */
  deferred(topic: string, partition: number, ms: number): void {
    const s = this.state(topic, partition);
    s.movedAt = this.anyMovedAt = this.now();
    s.waitingUntil = Math.max(s.waitingUntil, this.now() + ms);
  }

  /** A dependency that every record needs (the ledger) is down: waiting is not stalling. */
  dependencyDown(forMs: number): void {
    for (const s of this.partitions.values()) s.waitingUntil = Math.max(s.waitingUntil, this.now() + forMs);
  }

  /** Lag and committed offset as the brokers report them; a new committed offset is movement. */
  position(topic: string, partition: number, lag: number, committed?: string): void {
    const key = keyOf(topic, partition);
    const s = this.partitions.get(key);
    if (!s) return;
    s.lag = Math.max(0, lag);
    if (committed !== undefined && committed !== s.committed) {
      if (s.committed !== null) s.movedAt = this.anyMovedAt = this.now();
      s.committed = committed;
    }
  }

  /** Age of the oldest record started and not finished, per assigned partition. */
  oldestUnfinished(): { topic: string; partition: number; ageMs: number; offset: string | null }[] {
    const now = this.now();
    return [...this.partitions.values()].map((s) => {
      let offset: string | null = null;
      let since = now;
      for (const [o, at] of s.inFlight) if (offset === null || at < since) [offset, since] = [o, at];
      return { topic: s.topic, partition: s.partition, ageMs: now - since, offset };
    });
  }

  /**
   * The partitions that have work and have not moved for `stallMs`. A partition with records in
   * flight, or failing, is judged on its own (each send has a deadline). One with only lag may be
   * waiting its turn behind other partitions' slow batches (PARTITION_CONCURRENCY): that is load,
   * not a fault, so it counts only once the whole consumer has stopped moving.
   */
  stalls(): Stall[] {
    const now = this.now();
    const stalls: Stall[] = [];
    for (const s of this.partitions.values()) {
      const failing = s.failing.size > 0;
      const hasWork = s.inFlight.size > 0 || s.lag > 0 || failing;
      // A failing record is timed from its first failure: what else finishes meanwhile is not its progress.
      const stillSince = failing ? Math.min(...s.failing.values()) : s.movedAt;
      const since = Math.max(stillSince, s.waitingUntil, s.inFlight.size > 0 || failing ? 0 : this.anyMovedAt);
      const stuck = hasWork && now >= s.waitingUntil && now - since > this.stallMs;
      if (!stuck) continue;
      let oldest: string | null = null;
      for (const o of [...s.inFlight.keys(), ...s.failing.keys()]) if (oldest === null || BigInt(o) < BigInt(oldest)) oldest = o;
      stalls.push({ topic: s.topic, partition: s.partition, sinceMs: now - stillSince, lag: s.lag, oldestOffset: oldest, failing });
    }
    return stalls;
  }

  /** Assigned partitions, for the broker-side position check. */
  assignment(): { topic: string; partition: number }[] {
    return [...this.partitions.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  private state(topic: string, partition: number): PartitionState {
    const key = keyOf(topic, partition);
    let s = this.partitions.get(key);
    if (!s) {
      // Records of a partition not (yet) in the assignment event: track them anyway.
      s = this.fresh(topic, partition);
      this.partitions.set(key, s);
    }
    return s;
  }

  private fresh(topic: string, partition: number): PartitionState {
    return { topic, partition, inFlight: new Map(), movedAt: this.now(), waitingUntil: 0, failing: new Map(), lag: 0, committed: null };
  }
}
