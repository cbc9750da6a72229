import { monotonicMs } from '@postline/runtime';
import type { Message, PartitionMetadata } from 'kafkajs';

/**
 * Where each send of the API's producers puts its records: all on one broker, spread over the
 * partitions that broker leads, and the next send on the next broker.
 *
 * Why: the brokers' CPU bounds acks=all throughput here (docs/benchmarks.md, G1), and a kafkajs send
 * costs a request to every broker it touches. Placed by key (the email id, as until 2026-12-04),
 * every send touched all three brokers with a record batch for each of the twelve partitions, three
 * or four records each. With one broker a send the API took 17-23 % more requests a second, higher in
 * every round (bench/ab.mjs, 2026-12-04), and one partition a send measured the same: the requests are
 * the cost, not the batches. A batch request's emails still spread over that broker's partitions
 * (one partition would leave them to one mailer, four sends at a time).
 * Kafka's own producer drains its batches a broker at a time, and places records without a key on
 * one partition until its batch is full (KIP-480). Nothing needs an email's records in one
 * partition: the ledger dedupes by id wherever its copies are, and the API records each email's
 * partition in its row (the stuck-email audit reads it).
 *
 * The leaders are read at boot and whenever the API reads the topic's metadata again; a stale
 * leader costs only a request to a second broker (kafkajs sends to the leader it knows).
 *
 * A broker that does not answer is gone around, as Kafka's own producer does (KIP-794: it avoids a
 * broker whose batches do not drain). Nothing else would: a broker the API cannot reach but the
 * cluster can (a partial network partition, a leader whose disk stalls) keeps leading its
 * partitions, kafkajs retries the send to it for good, and with one send in flight per producer
 * every request waited behind that send: e2e 24 measured no 202 at all for the 55 s the API was
 * cut off from one broker of three. Now a send still in flight after SLOW_SEND_MS frees its
 * producer for the next send (kafka-producer.ts), which goes to another broker; a broker is
 * avoided while such a send of its is in flight, and for AVOID_AFTER_FAILURE_MS after one failed.
 * A partition is never in two sends at once, whatever its leader meanwhile: its idempotence
 * sequence numbers allow one send at a time (ProducerPool says what two would lose).
 */
/** A send not acknowledged by then no longer holds its producer: the next goes to another broker. */
export const SLOW_SEND_MS = 1_000;
/** A broker whose send failed is left out for this long (while another has a free partition). */
export const AVOID_AFTER_FAILURE_MS = 5_000;

/** Thrown when every partition of a producer is in a send (slow() holds a send back until one frees, so rarely). */
export class NoFreePartitionError extends Error {
  override readonly name = 'NoFreePartitionError';
}

/** One send's place: give it back to slow() and settled(). */
export interface PlacedSend {
  producer: number;
  leader: number;
  partitions: number[];
  slow: boolean;
}

interface Group {
  leader: number;
  partitions: number[];
  /** The index its next message takes. */
  next: number;
}

export class SendPlacement {
  /** Per producer: its partitions, one group per leader. */
  private groups: Group[][];
  /** Per producer: the group its next send tries first. */
  private readonly turn: number[];
  /** The producers that own a partition. */
  private owners: number[] = [];
  /** The partitions and leaders the groups were made from. */
  private made = '';
  /** Partitions in a send not settled yet. */
  private readonly busy = new Set<number>();
  /** Per leader: its sends in flight past SLOW_SEND_MS. */
  private readonly slowSends = new Map<number, number>();
  /** Per leader: until when it is avoided after a failed send (a clock reading). */
  private readonly failedUntil = new Map<number, number>();
  /** Slow sends whose producer had no free partition for another send yet: released when one frees. */
  private readonly held = new Map<PlacedSend, () => void>();

  constructor(
    producers: number,
    private readonly owner: (partition: number) => number,
    private readonly now: () => number = monotonicMs,
  ) {
    this.groups = Array.from({ length: producers }, () => []);
    this.turn = Array.from({ length: producers }, () => 0);
  }

  /** The topic's partitions with their leaders. Leaderless ones are left out while any has a leader. */
  update(partitions: PartitionMetadata[]): void {
    const led = partitions.filter((p) => p.leader >= 0);
    const usable = led.length > 0 ? led : partitions;
    // The readiness probe reads the same metadata again and again: each group keeps its place.
    const made = usable.map((p) => `${p.partitionId}:${p.leader}`).join(',');
    if (made === this.made) return;
    this.made = made;
    this.groups = this.groups.map((_, index) => {
      const byLeader = new Map<number, number[]>();
      for (const p of usable) {
        if (this.owner(p.partitionId) !== index) continue;
        const list = byLeader.get(p.leader) ?? [];
        list.push(p.partitionId);
        byLeader.set(p.leader, list);
      }
      return [...byLeader.keys()]
        .sort((a, b) => a - b)
        .map((leader) => ({ leader, partitions: (byLeader.get(leader) as number[]).sort((a, b) => a - b), next: 0 }));
    });
    this.owners = this.groups.flatMap((groups, index) => (groups.length > 0 ? [index] : []));
  }

  /** The producers that own a partition: the ones a request may go to. */
  senders(): number[] {
    return this.owners;
  }

  /**
   * Pins `messages` to producer `index`'s next send: the next broker's free partitions, a message to
   * each in turn, going on where that broker's last send stopped (a send of one email at a low
   * rate would otherwise always take its first partition). A broker avoided is taken only when
   * no other has a free partition. Its partitions are busy until settled().
   */
  place(index: number, messages: Message[]): PlacedSend {
    const groups = this.groups[index] as Group[];
    if (groups.length === 0) throw new Error(`producer ${index} owns no partition`);
    const start = this.turn[index] as number;
    const at = (i: number) => (start + i) % groups.length;
    let chosen = -1;
    for (let i = 0; i < groups.length && chosen < 0; i++) {
      const g = groups[at(i)] as Group;
      if (this.free(g) && !this.avoided(g.leader)) chosen = at(i);
    }
    for (let i = 0; i < groups.length && chosen < 0; i++) if (this.free(groups[at(i)] as Group)) chosen = at(i);
    if (chosen < 0) throw new NoFreePartitionError(`every partition of producer ${index} is in a send not yet acknowledged`);
    this.turn[index] = (chosen + 1) % groups.length;
    const group = groups[chosen] as Group;
    const used = new Set<number>();
    for (const message of messages) {
      let partition: number;
      do partition = group.partitions[group.next++ % group.partitions.length] as number;
      while (this.busy.has(partition));
      group.next %= group.partitions.length;
      message.partition = partition;
      used.add(partition);
    }
    for (const p of used) this.busy.add(p);
    return { producer: index, leader: group.leader, partitions: [...used], slow: false };
  }

  /**
   * `send` is still in flight past SLOW_SEND_MS: its broker is avoided until it settles, and
   * `release` (which lets its producer's next send go) is called once that send has a partition to
   * go to: now, or when another send frees one. Until then what queues waits in the batcher, where
   * a request past its deadline is dropped unsent, as it was with one send in flight.
   */
  slow(send: PlacedSend, release: () => void): void {
    if (send.slow) return;
    send.slow = true;
    this.slowSends.set(send.leader, (this.slowSends.get(send.leader) ?? 0) + 1);
    if (this.hasFree(send.producer)) release();
    else this.held.set(send, release);
  }

  /** `send` ended (acknowledged, failed, or given up with its producer replaced): its partitions are free. */
  settled(send: PlacedSend, failed: boolean): void {
    for (const p of send.partitions) this.busy.delete(p);
    this.held.delete(send);
    if (send.slow) {
      const left = (this.slowSends.get(send.leader) ?? 1) - 1;
      if (left > 0) this.slowSends.set(send.leader, left);
      else this.slowSends.delete(send.leader);
    }
    if (failed) this.failedUntil.set(send.leader, this.now() + AVOID_AFTER_FAILURE_MS);
    for (const [held, release] of this.held) {
      if (held.producer !== send.producer || !this.hasFree(send.producer)) continue;
      this.held.delete(held);
      release();
      break; // one send's worth freed: one held send lets the next go
    }
  }

  private hasFree(index: number): boolean {
    return (this.groups[index] ?? []).some((g) => this.free(g));
  }

  private free(group: Group): boolean {
    return group.partitions.some((p) => !this.busy.has(p));
  }

  private avoided(leader: number): boolean {
    return this.slowSends.has(leader) || (this.failedUntil.get(leader) ?? 0) > this.now();
  }
}
