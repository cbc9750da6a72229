import type { Message, PartitionMetadata } from 'kafkajs';
import { fastDefaultPartitioner } from './murmur2.js';

const partitioner = fastDefaultPartitioner();

/**
 * Splits a batch into one group per partition, each message pinned to the partition kafkajs'
 * default partitioner would pick for its key (so keys map exactly as before). Pinned, a batch
 * can be routed to the producer owning each partition, and a send's acknowledgements checked
 * partition by partition (send-covered.ts).
 */
export function splitByPartition(
  topic: string,
  partitionMetadata: PartitionMetadata[],
  messages: Message[],
): { partition: number; messages: Message[] }[] {
  const groups = new Map<number, Message[]>();
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const group = groups.get(partition) ?? [];
    group.push({ ...message, partition });
    groups.set(partition, group);
  }
  return [...groups].map(([partition, messages]) => ({ partition, messages }));
}
