import { enqueueDeliveries, pendingDeliveries } from '@postline/ledger';
import {
  BACKEND_RETRY,
  CONSUMER_RETRY,
  ConsumerSupervisor,
  createKafka,
  eventsTopic,
  OffsetCommits,
  provisionTopics,
} from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { EachBatchPayload } from 'kafkajs';
import type { WebhooksConfig } from '../config.js';
import { Deliverer } from '../deliverer.js';
import { EndpointCache } from '../endpoint-cache.js';
import { deliveriesOf } from '../event-deliveries.js';

declare module 'fastify' {
  interface FastifyInstance {
    consumerReady(): boolean;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The consumer group over the events topic. Each batch becomes delivery rows in the ledger
 * (one per subscribed endpoint) before its offsets are committed: killed at any point, the
 * dispatcher loses nothing — a batch not committed is read again and queues nothing twice.
 * Offsets are committed at most once per COMMIT_INTERVAL_MS, as the mailer's are (offset-commits.ts).
 */
export const dispatcherPlugin = fp(
  async (app: FastifyInstance, { config }: { config: WebhooksConfig }) => {
    const kafka = createKafka({
      ...config.kafka,
      clientId: 'postline-webhooks',
      logger: app.log,
      // As the mailer's: a broker failover must not surface as errors (the admin provisions topics).
      retry: BACKEND_RETRY,
    });
    const endpoints = new EndpointCache(app.ledger);
    const deliverer = new Deliverer(app.ledger, endpoints, config, app.webhookMetrics, app.log);
    let stopping = false;
    const commits = new OffsetCommits(config.COMMIT_INTERVAL_MS, app.log);

    const queue = async (payload: EachBatchPayload) => {
      const { batch, resolveOffset, heartbeat } = payload;
      for (let delay = 200; ; delay = Math.min(delay * 2, 2_000)) {
        try {
          await endpoints.refresh();
          const deliveries = deliveriesOf(batch.messages, endpoints, (message) =>
            app.log.warn({ partition: batch.partition, offset: message.offset }, 'not an event: skipped'),
          );
          app.webhookMetrics.queued.inc(await enqueueDeliveries(app.ledger, deliveries));
          break;
        } catch (error) {
          app.log.warn({ err: error }, 'could not queue deliveries; retrying');
          // Stopping: leave the batch uncommitted; it is read again after the restart.
          if (stopping) return;
          await sleep(delay);
          await heartbeat().catch(() => {});
        }
      }
      const last = batch.messages.at(-1);
      if (last) resolveOffset(last.offset);
      await commits.afterBatch(payload, stopping);
      deliverer.nudge();
    };

    const supervisor = new ConsumerSupervisor(
      () => {
        const consumer = kafka.consumer({
          groupId: config.WEBHOOK_CONSUMER_GROUP,
          sessionTimeout: config.SESSION_TIMEOUT_MS,
          heartbeatInterval: Math.floor(config.SESSION_TIMEOUT_MS / 10),
          maxWaitTimeInMs: 100,
          allowAutoTopicCreation: false,
          retry: CONSUMER_RETRY,
        });
        // As the mailer's: an operator sees a rebalance or a move to a new coordinator in the log.
        consumer.on(consumer.events.GROUP_JOIN, (e) => app.log.info({ memberId: e.payload.memberId }, 'joined consumer group'));
        commits.attach(consumer, () => app.webhookMetrics.offsetCommits.inc());
        return consumer;
      },
      async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topics: [config.EVENTS_TOPIC], fromBeginning: true });
        await consumer.run({ eachBatchAutoResolve: false, ...commits.runOptions, eachBatch: supervisor.counted(queue) });
      },
      app.log,
    );
    app.decorate('consumerReady', () => supervisor.ready && !stopping);

    void app.startup.step('kafka', async (signal) => {
      const admin = await provisionTopics(kafka, [eventsTopic(config)], app.log, config.BOOT_TIMEOUT_MS, signal, config.kafka);
      try {
        // Asks the group's coordinator, with the admin's unbounded retries: on a fresh cluster it
        // is still loading, and a consumer joining then crashes (an error-level restart).
        await admin.describeGroups([config.WEBHOOK_CONSUMER_GROUP]);
      } finally {
        await admin.disconnect();
      }
    });
    void app.startup.step('consumer group', async (signal) => {
      await Promise.all([app.startup.when('ledger'), app.startup.when('kafka')]);
      signal.throwIfAborted();
      deliverer.start();
      commits.start();
      const joined = supervisor.joined(signal);
      void supervisor.run();
      await joined;
    });
    const gauge = setInterval(() => {
      pendingDeliveries(app.ledger).then(
        (n) => app.webhookMetrics.pending.set(n),
        () => {},
      );
    }, 10_000).unref();

    app.addHook('onClose', async () => {
      stopping = true;
      clearInterval(gauge);
      // What the batches queued since the last commit; a batch still running commits its own at its end.
      // Every wait shares the one shutdown deadline (runtime/shutdown-deadline.ts).
      const { shutdown } = app;
      await shutdown.drain('offset commit', commits.close(), 'events not committed are read again (no delivery is queued twice)');
      await shutdown.drain('consumer', supervisor.stop(), 'events not committed are read again (no delivery is queued twice)');
      await shutdown.drain('deliverer', deliverer.stop(), 'a delivery in flight is tried again once its lease lapses (same webhook-id)');
    });
  },
  { name: 'dispatcher', dependencies: ['startup', 'metrics', 'ledger', 'shutdown'] },
);
