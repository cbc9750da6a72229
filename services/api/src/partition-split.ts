import { type Message, Partitioners, type PartitionMetadata } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();

/**
 * Splits a batch into one group per partition, each message pinned to the partition kafkajs'
 * default partitioner would pick for its key (so keys map exactly as before).
 *
 * Why: kafkajs (2.2.4, sendMessages) remembers which *brokers* answered a produce, not which
 * partitions. If one send spans brokers A and B, A answers and B dies, B's partitions fail over
 * to A; the retry then finds every leader "already answered" and resolves without ever
 * re-sending B's records — acknowledged, yet lost (seen in the leader-kill e2e scenarios).
 * A send to a single partition always retries against that partition's current leader.
 */
export function splitByPartition(topic: string, partitionMetadata: PartitionMetadata[], messages: Message[]): Message[][] {
  const groups = new Map<number, Message[]>();
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const group = groups.get(partition) ?? [];
    group.push({ ...message, partition });
    groups.set(partition, group);
  }
  return [...groups.values()];
}
