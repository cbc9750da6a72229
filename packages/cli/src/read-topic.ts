import { randomUUID } from 'node:crypto';
import { topicOffsets } from '@postline/runtime';
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface TopicRecord {
  partition: number;
  message: KafkaMessage;
}

/**
 * Every record of `topic` up to its end when the read started, with a throwaway consumer group
 * that commits nothing and is deleted afterwards. For an operator's tool: the records are held in
 * memory (dead-letter topics are small; `limit` caps the read).
 */
export async function readTopic(kafka: Kafka, topic: string, limit: number, timeoutMs = 120_000): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `postline-cli-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
  try {
    const ends = await topicOffsets(admin, topic);
    const remaining = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
    const records: TopicRecord[] = [];
    if (remaining.size === 0) return records;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} took longer than ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const end = remaining.get(partition);
          if (end === undefined || records.length >= limit) return;
          records.push({ partition, message });
          if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
          if (remaining.size === 0 || records.length >= limit) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.message.offset) - BigInt(b.message.offset)));
  } finally {
    await consumer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
}
