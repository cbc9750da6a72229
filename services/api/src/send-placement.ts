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
 */
export class SendPlacement {
  /** Per producer: its partitions, one list per leader, each with the index its next message takes. */
  private groups: { partitions: number[]; next: number }[][];
  /** Per producer: its sends so far, which pick the next group. */
  private readonly sends: number[];
  /** The producers that own a partition. */
  private owners: number[] = [];
  /** The partitions and leaders the groups were made from. */
  private made = '';

  constructor(
    producers: number,
    private readonly owner: (partition: number) => number,
  ) {
    this.groups = Array.from({ length: producers }, () => []);
    this.sends = Array.from({ length: producers }, () => 0);
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
        .map((leader) => ({ partitions: (byLeader.get(leader) as number[]).sort((a, b) => a - b), next: 0 }));
    });
    this.owners = this.groups.flatMap((groups, index) => (groups.length > 0 ? [index] : []));
  }

  /** The producers that own a partition: the ones a request may go to. */
  senders(): number[] {
    return this.owners;
  }

  /**
   * Pins `messages` to producer `index`'s next send: the next broker's partitions, a message to
   * each in turn, going on where that broker's last send stopped (a send of one email at a low
   * rate would otherwise always take its first partition).
   */
  place(index: number, messages: Message[]): void {
    const groups = this.groups[index] as { partitions: number[]; next: number }[];
    if (groups.length === 0) throw new Error(`producer ${index} owns no partition`);
    const send = this.sends[index] as number;
    this.sends[index] = send + 1;
    const group = groups[send % groups.length] as { partitions: number[]; next: number };
    const { partitions } = group;
    for (const message of messages) message.partition = partitions[group.next++ % partitions.length];
    group.next %= partitions.length;
  }
}
