import { createKafka, emailTopics, provisionTopics, retryUntil, withTimeout } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type Message, Partitioners } from 'kafkajs';
import { CircuitBreaker } from '../circuit-breaker.js';
import type { MailerConfig } from '../config.js';
import { ConsumerSupervisor } from '../consumer-supervisor.js';
import { processBatch } from '../partition-worker.js';
import { handleRecord } from '../record-handler.js';

declare module 'fastify' {
  interface FastifyInstance {
    consumerReady(): boolean;
  }
}

/**
 * The consumer group over the requests and retry topics, and the producer for retries and
 * dead letters. Registered last, so on close it drains first: no new records are started,
 * the ones in flight are sent and recorded, offsets are committed, then the group is left.
 */
export const kafkaPlugin = fp(
  async (app: FastifyInstance, { config }: { config: MailerConfig }) => {
    const kafka = createKafka({
      brokers: config.KAFKA_BROKERS,
      clientId: 'postline-mailer',
      logger: app.log,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    const admin = await provisionTopics(kafka, emailTopics(config), app.log, config.BOOT_TIMEOUT_MS);
    await admin.disconnect();

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await retryUntil('kafka producer', () => producer.connect(), app.log, config.BOOT_TIMEOUT_MS);
    const produce = async (topic: string, messages: Message[]) => {
      await withTimeout(producer.send({ topic, acks: -1, timeout: 10_000, messages }), 15_000, `produce to ${topic}`);
    };

    const createConsumer = () => {
      const consumer = kafka.consumer({
        groupId: config.CONSUMER_GROUP,
        sessionTimeout: config.SESSION_TIMEOUT_MS,
        rebalanceTimeout: config.SESSION_TIMEOUT_MS * 2,
        heartbeatInterval: Math.floor(config.SESSION_TIMEOUT_MS / 10),
        // Low: an idle mailer picks up a new email within this, not kafkajs' default 5 s.
        maxWaitTimeInMs: 100,
        allowAutoTopicCreation: false,
        retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000 },
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        app.log.info({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'joined consumer group');
      });
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        app.mailerMetrics.lag.set({ topic: e.payload.topic, partition: String(e.payload.partition) }, Number(e.payload.offsetLagLow));
      });
      return consumer;
    };
    let stopping = false;
    const resumeTimers = new Set<NodeJS.Timeout>();
    app.decorate('consumerReady', () => supervisor.ready && !stopping);

    const breaker = new CircuitBreaker(500, 30_000);
    const deps = {
      config,
      db: app.ledger,
      smtp: app.smtp,
      breaker,
      metrics: app.mailerMetrics,
      log: app.log,
      produce,
      running: () => !stopping,
      inFlight: new Map<string, Promise<unknown>>(),
    };

    const supervisor = new ConsumerSupervisor(
      createConsumer,
      async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topics: [config.EMAILS_TOPIC, config.RETRY_TOPIC], fromBeginning: true });
        await consumer.run({
          partitionsConsumedConcurrently: config.PARTITION_CONCURRENCY,
          eachBatchAutoResolve: false,
          eachBatch: (payload) =>
            processBatch(payload, {
              concurrency: config.SENDS_PER_PARTITION,
              handle: (record) => handleRecord(deps, record),
              onDefer: (reason) => app.mailerMetrics.deferred.inc({ reason }),
              onError: (error) => app.log.error({ err: error }, 'record handling failed; will retry'),
              stopping: () => stopping,
              scheduleResume: (resume, ms) => {
                const timer = setTimeout(() => {
                  resumeTimers.delete(timer);
                  if (!stopping) resume();
                }, ms);
                resumeTimers.add(timer);
              },
            }),
        });
      },
      app.log,
    );
    app.addHook('onReady', () => supervisor.run());

    app.addHook('onClose', async () => {
      stopping = true;
      for (const timer of resumeTimers) clearTimeout(timer);
      // Waits for the batches in progress (which stop starting records and finish the ones in
      // flight), commits what they resolved, and leaves the group so partitions move at once.
      await supervisor.stop();
      await producer.disconnect();
      app.log.info('consumer stopped');
    });
  },
  { name: 'kafka', dependencies: ['metrics', 'ledger', 'smtp'] },
);
