import {
  createKafka,
  emailTopics,
  keyPartition,
  MicroBatcher,
  PRODUCE_BATCH_BYTES,
  ProducerPool,
  provisionTopics,
  retryUntil,
  topicPartitions,
  withTimeout,
} from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Admin, Message, PartitionMetadata } from 'kafkajs';
import type { ApiConfig } from '../config.js';
import { NotReadyError } from '../errors.js';
import { LeaderWatch } from '../leader-watch.js';
import { SendPlacement, SLOW_SEND_MS } from '../send-placement.js';

/** Where a record was written. */
export interface Placement {
  topic: string;
  partition: number;
}

export interface EmailQueue {
  /** Resolves once every message is acknowledged by the in-sync replicas (acks=all), with where each one is. */
  enqueue(messages: Message[]): Promise<Placement[]>;
  /** Booted, connected, and the requests topic has leaders. */
  ready(): Promise<boolean>;
  /**
   * The partition an API before sticky partitioning produced an email id to (Kafka's default
   * partitioner on its key), for rows that recorded no partition. Throws before boot is done.
   */
  keyedPartitionOf(id: string): number;
}

declare module 'fastify' {
  interface FastifyInstance {
    emailQueue: EmailQueue;
  }
}

/** The idempotent acks=all producers behind a micro-batcher, and the topics it writes to. */
export const kafkaProducerPlugin = fp(
  async (app: FastifyInstance, { config }: { config: ApiConfig }) => {
    const kafka = createKafka({
      ...config.kafka,
      clientId: 'postline-api',
      logger: app.log,
      // Idempotence needs unbounded retries (a bounded count can break its ordering guarantee);
      // the ack deadline below is what bounds a request. Short backoff: recover fast after a failover.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const producers = new ProducerPool(kafka, config.PRODUCERS, app.log, config.KAFKA_COMPRESSION);
    // Each send on one broker, the next on the next (send-placement.ts says why).
    const placement = new SendPlacement(producers.size, (partition) => producers.owner(partition));
    // Set by the boot step; until then the API answers 503 (see app.ts) and is not ready.
    let admin: Admin | null = null;
    let partitionMetadata: PartitionMetadata[] | null = null;
    void app.startup.step('kafka', async (signal) => {
      admin = await provisionTopics(kafka, emailTopics(config), app.log, config.BOOT_TIMEOUT_MS, signal, config.kafka);
      await retryUntil('kafka producers', () => producers.connect(), app.log, config.BOOT_TIMEOUT_MS, signal);
      const partitions = await topicPartitions(admin, [config.EMAILS_TOPIC], app.log, config.BOOT_TIMEOUT_MS, signal);
      partitionMetadata = partitions.get(config.EMAILS_TOPIC) ?? null;
      if (partitionMetadata) placement.update(partitionMetadata);
    });
    const metadata = () => {
      if (!partitionMetadata) throw new NotReadyError();
      return partitionMetadata;
    };
    const metrics = app.metrics;
    // One batcher per producer, each with a single send in flight but for slow ones, and never two
    // sends of one partition at once (the placement keeps them apart): a retried send racing a newer
    // one could reuse its idempotence sequence number, and Kafka would acknowledge the newer
    // records as duplicates without writing them.
    const batchers = Array.from(
      { length: producers.size },
      (_, index) =>
        new MicroBatcher<Message>(
          async (messages, release) => {
            // The messages are this plugin's callers' (enqueue reads the partition back).
            const placed = placement.place(index, messages);
            // A broker that does not answer holds only this send: the next goes to another (send-placement.ts).
            const slow = setTimeout(() => placement.slow(placed, release), SLOW_SEND_MS);
            const end = metrics.produceDuration.startTimer();
            metrics.produceBatchSize.observe(messages.length);
            try {
              await producers.send(index, config.EMAILS_TOPIC, messages, config.ACK_TIMEOUT_MS);
              placement.settled(placed, false);
              end({ outcome: 'acked' });
            } catch (error) {
              placement.settled(placed, true);
              end({ outcome: 'error' });
              app.log.warn({ err: error, records: messages.length, leader: placed.leader }, 'produce failed');
              throw error;
            } finally {
              clearTimeout(slow);
            }
          },
          {
            lingerMs: config.PRODUCE_LINGER_MS,
            maxBatch: config.PRODUCE_MAX_BATCH,
            maxInFlight: 1,
            timeoutMs: config.ACK_TIMEOUT_MS,
            bytes: PRODUCE_BATCH_BYTES,
          },
        ),
    );
    // A request's messages go to one producer, the producers that own a partition in turn.
    let requests = 0;
    const enqueue = async (messages: Message[]): Promise<Placement[]> => {
      const senders = placement.senders();
      if (senders.length === 0) throw new NotReadyError();
      await (batchers[senders[requests++ % senders.length] as number] as MicroBatcher<Message>).enqueue(messages);
      return messages.map((m) => ({ topic: config.EMAILS_TOPIC, partition: m.partition as number }));
    };

    // Probes come often (kubelet, load balancers, compose): the leaders are read in the background,
    // at most once a second, and a broker that does not answer does not make the API unready (leader-watch.ts).
    const leaders = new LeaderWatch(
      async () => {
        if (!admin) return undefined;
        const meta = await admin.fetchTopicMetadata({ topics: [config.EMAILS_TOPIC] });
        return meta.topics[0]?.partitions;
      },
      (partitions) => {
        // Leaders move (a failover, a rebalance): sends follow them.
        if (partitions.length === partitionMetadata?.length) placement.update(partitions);
      },
    );
    app.decorate('emailQueue', {
      enqueue,
      keyedPartitionOf: (id: string) => keyPartition(id, metadata().length),
      ready: async () => app.startup.done && admin !== null && (await leaders.led()) && producers.connected,
    });

    app.addHook('onClose', async () => {
      // Runs after the server stopped accepting and every in-flight request was answered;
      // whatever is still queued is sent (or times out) before the producer goes.
      const drained = withTimeout(Promise.all(batchers.map((b) => b.drain())), config.ACK_TIMEOUT_MS, 'draining the produce queue').catch(
        () => app.log.warn('produce queue not drained before shutdown'),
      );
      // Every wait shares the one shutdown deadline (runtime/shutdown-deadline.ts).
      const { shutdown } = app;
      await shutdown.drain('produce queue', drained, 'records still queued belong to requests answered 503 (not accepted)');
      await shutdown.drain('producers', producers.disconnect(), 'nothing: every accepted email was acknowledged');
      if (admin) await shutdown.drain('admin client', admin.disconnect(), 'nothing');
    });
  },
  { name: 'kafka-producer', dependencies: ['metrics', 'startup', 'shutdown'] },
);
