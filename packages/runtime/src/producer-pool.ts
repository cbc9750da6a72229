import { CompressionTypes, type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import { sendCovered } from './send-covered.js';

/**
 * Idempotent producers, each owning every Nth partition of the topic, so each can have its own
 * batch in flight. A partition always goes through the same producer: its idempotence sequence
 * numbers live in one place, and one send at a time per producer keeps them in order.
 */
export class ProducerPool {
  private readonly producers: Producer[];
  private readonly live = new Set<Producer>();

  constructor(
    kafka: Kafka,
    size: number,
    private readonly onGap: (partitions: number[]) => void,
    private readonly compression: 'none' | 'gzip' = 'none',
  ) {
    this.producers = Array.from({ length: size }, () => {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      producer.on(producer.events.CONNECT, () => this.live.add(producer));
      producer.on(producer.events.DISCONNECT, () => this.live.delete(producer));
      return producer;
    });
  }

  get size(): number {
    return this.producers.length;
  }

  /** Which producer sends `partition`. */
  owner(partition: number): number {
    return partition % this.producers.length;
  }

  /** Every producer connected. */
  get connected(): boolean {
    return this.live.size === this.producers.length;
  }

  async connect(): Promise<void> {
    await Promise.all(this.producers.map((p) => p.connect()));
  }

  /** acks=all send through producer `index` of messages pinned to partitions it owns. */
  async send(index: number, topic: string, messages: Message[], timeout: number): Promise<void> {
    const producer = this.producers[index] as Producer;
    const compression = this.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    await sendCovered((pending) => producer.send({ topic, acks: -1, timeout, compression, messages: pending }), messages, this.onGap);
  }

  async disconnect(): Promise<void> {
    await Promise.all(this.producers.map((p) => p.disconnect()));
  }
}
