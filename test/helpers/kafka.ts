import { createKafka, topicOffsets } from '@postline/runtime';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { quietLogger, stackEnv, uniqueName } from './env.js';

/**
 * Retries long enough (~25 s) to ride through a broker kill: a dead leader is fenced only after
 * broker.session.timeout.ms (9 s), and kafkajs' default budget (~9 s) ends just before that.
 */
export function testKafka(clientId = 'test'): Kafka {
  return createKafka({
    brokers: stackEnv().brokers,
    clientId,
    logger: quietLogger,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 3_000 },
  });
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: KafkaMessage['headers'];
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `done(records)` holds
 * or the timeout passes; returns everything read.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  done: (records: ReadRecord[]) => boolean,
  timeoutMs = 30_000,
): Promise<ReadRecord[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName('test-reader'),
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 250,
  });
  const records: ReadRecord[] = [];
  const seen = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const check = () => {
        if (done(records)) {
          clearTimeout(timer);
          resolve();
        }
      };
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          // A rebalance of this reader's own group (a late heartbeat on a busy machine) hands it
          // the same records again: the topic's content is each partition:offset once.
          const at = `${partition}:${message.offset}`;
          if (seen.has(at)) return;
          seen.add(at);
          records.push({
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? null,
            headers: message.headers,
          });
          check();
        },
      });
      check();
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** How many records a topic holds (sum of high watermarks). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await topicOffsets(admin, topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Records between a group's committed offset and the end, summed over the topic. */
export async function uncommittedRecords(topic: string, groupId: string): Promise<number> {
  const admin = testKafka('test-admin').admin();
  await admin.connect();
  try {
    const ends = await topicOffsets(admin, topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return ends.reduce((n, e) => {
      const c = committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1';
      return n + Number(e.high) - (c === '-1' ? Number(e.low) : Number(c));
    }, 0);
  } finally {
    await admin.disconnect();
  }
}
