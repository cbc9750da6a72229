import {
  type LogSink,
  MicroBatcher,
  PRODUCE_BATCH_BYTES,
  ProducerPool,
  retryUntil,
  splitByPartition,
  topicPartitions,
  withTimeout,
} from '@postline/runtime';
import type { Admin, Kafka, Message, PartitionMetadata } from 'kafkajs';

/** A produce that is not acknowledged within this rejects (the record is then handled again). */
const ACK_TIMEOUT_MS = 15_000;

/**
 * The mailer's writes to the retry and dead-letter topics, made as safe as the API's.
 *
 * Why: every concurrent record handler used to call `send()` on one idempotent producer. Two
 * sends to one partition in flight at once can reuse an idempotence sequence number (kafkajs
 * #598), and a send that times out keeps retrying inside kafkajs while the next one starts; the
 * broker may then acknowledge a retry record as a duplicate without writing it, and that email
 * would sit in `retrying` with no record to retry it. Here each topic has one batcher with one
 * send in flight (a timed-out send still holds its slot until it ends, or until the pool gives it
 * up and replaces the producer: ABANDON_AFTER_MS), and the topics never share a partition.
 * Messages are pinned to the partition the default partitioner picks, so each acknowledgement is
 * checked partition by partition (send-covered.ts, #1303).
 */
export class RecordProducer {
  private readonly pool: ProducerPool;
  private readonly batchers = new Map<string, MicroBatcher<Message>>();
  private partitions = new Map<string, PartitionMetadata[]>();

  constructor(
    kafka: Kafka,
    private readonly log: LogSink,
    private readonly topics: string[],
  ) {
    this.pool = new ProducerPool(kafka, 1, log);
    for (const topic of topics) {
      this.batchers.set(
        topic,
        new MicroBatcher<Message>((messages) => this.pool.send(0, topic, messages, ACK_TIMEOUT_MS), {
          lingerMs: 0,
          maxBatch: 500,
          maxInFlight: 1,
          timeoutMs: ACK_TIMEOUT_MS,
          bytes: PRODUCE_BATCH_BYTES,
        }),
      );
    }
  }

  /** A boot step: connects, and learns each topic's partitions (fixed: topics are never repartitioned). */
  async connect(admin: Admin, deadlineMs: number, signal: AbortSignal): Promise<void> {
    await retryUntil('kafka producer', () => this.pool.connect(), this.log, deadlineMs, signal);
    this.partitions = await topicPartitions(admin, this.topics, this.log, deadlineMs, signal);
  }

  /** Resolves once every message is acknowledged by the in-sync replicas (acks=all). */
  async produce(topic: string, messages: Message[]): Promise<void> {
    const batcher = this.batchers.get(topic);
    const metadata = this.partitions.get(topic);
    if (!batcher || !metadata) throw new Error(`not connected to ${topic}`);
    await batcher.enqueue(splitByPartition(topic, metadata, messages).flatMap((group) => group.messages));
  }

  /** Sends what is queued (shutdown; bounded, as a send can retry for as long as ISR < 2), then disconnects. */
  async disconnect(): Promise<void> {
    const drained = Promise.all([...this.batchers.values()].map((b) => b.drain()));
    await withTimeout(drained, ACK_TIMEOUT_MS, 'draining retry and dead-letter produces').catch(() =>
      this.log.warn('retry and dead-letter produces not drained before shutdown'),
    );
    await this.pool.disconnect();
  }
}
