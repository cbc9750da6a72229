import {
  BACKEND_RETRY,
  CONSUMER_RETRY,
  ConsumerSupervisor,
  createKafka,
  emailTopics,
  OffsetCommits,
  provisionTopics,
} from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Admin } from 'kafkajs';
import type { MailerConfig } from '../config.js';
import { LedgerBatches } from '../ledger-batches.js';
import { OutboxRelay } from '../outbox-relay.js';
import { processBatch } from '../partition-worker.js';
import { type HandlerDeps, handleRecord } from '../record-handler.js';
import { RecordProducer } from '../record-producer.js';
import { RejoinSignal } from '../rejoin-signal.js';
import { retryReleaser } from '../retry-releaser.js';
import { scheduleReleaser } from '../schedule-releaser.js';
import type { StallMonitor } from '../stall-monitor.js';

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
      ...config.kafka,
      clientId: 'postline-mailer',
      logger: app.log,
      retry: BACKEND_RETRY,
    });
    const monitor = app.stallMonitor;
    const producer = new RecordProducer(kafka, app.log, [
      config.RETRY_TOPIC,
      config.DEAD_LETTER_TOPIC,
      config.EVENTS_TOPIC,
      config.EMAILS_TOPIC,
    ]);
    const relay = new OutboxRelay(app.ledger, (messages) => producer.produce(config.EVENTS_TOPIC, messages), app.mailerMetrics, app.log);
    const releaser = scheduleReleaser(
      app.ledger,
      (messages) => producer.produce(config.EMAILS_TOPIC, messages),
      app.mailerMetrics,
      app.log,
    );
    const retries = retryReleaser(
      app.ledger,
      [config.EMAILS_TOPIC, config.RETRY_TOPIC],
      (topic, messages) => producer.produce(topic, messages),
      app.mailerMetrics,
      app.log,
    );
    // Kept connected once booted: the watchdog asks it where the group stands on each partition.
    let admin: Admin | null = null;

    const commits = new OffsetCommits(config.COMMIT_INTERVAL_MS, app.log);
    const rejoin = new RejoinSignal();
    const createConsumer = () => {
      const consumer = kafka.consumer({
        groupId: config.CONSUMER_GROUP,
        sessionTimeout: config.SESSION_TIMEOUT_MS,
        rebalanceTimeout: config.SESSION_TIMEOUT_MS * 2,
        heartbeatInterval: Math.floor(config.SESSION_TIMEOUT_MS / 10),
        // Low: an idle mailer picks up a new email within this, not kafkajs' default 5 s.
        maxWaitTimeInMs: 100,
        allowAutoTopicCreation: false,
        retry: CONSUMER_RETRY,
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        rejoin.joined();
        app.log.info({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'joined consumer group');
        monitor.assigned(e.payload.memberAssignment);
      });
      commits.attach(consumer, () => app.mailerMetrics.offsetCommits.inc());
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        app.mailerMetrics.lag.set({ topic: e.payload.topic, partition: String(e.payload.partition) }, Number(e.payload.offsetLagLow));
        monitor.position(e.payload.topic, e.payload.partition, Number(e.payload.offsetLag));
      });
      return consumer;
    };
    let stopping = false;
    const resumeTimers = new Set<NodeJS.Timeout>();
    app.decorate('consumerReady', () => supervisor.ready && !stopping);

    const batches = new LedgerBatches(app.ledger, config.MAILER_ID, config.CLAIM_TTL_MS, LEDGER_BATCH_TIMEOUT_MS);
    const deps: HandlerDeps = {
      config,
      db: app.ledger,
      ledger: batches,
      smtp: app.smtp,
      metrics: app.mailerMetrics,
      log: app.log,
      produce: (topic, messages) => producer.produce(topic, messages),
      running: () => !stopping,
      inFlight: new Map<string, Promise<unknown>>(),
      eventsWritten: () => relay.nudge(),
      parkedUntil: (dueAt) => releaser.dueAt(dueAt),
      retryParkedUntil: (dueAt) => retries.dueAt(dueAt),
    };

    const supervisor = new ConsumerSupervisor(
      createConsumer,
      async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topics: [config.EMAILS_TOPIC, config.RETRY_TOPIC], fromBeginning: true });
        await consumer.run({
          partitionsConsumedConcurrently: config.PARTITION_CONCURRENCY,
          eachBatchAutoResolve: false,
          ...commits.runOptions,
          eachBatch: supervisor.counted((payload) =>
            processBatch(payload, {
              concurrency: config.SENDS_PER_PARTITION,
              handle: (record) => handleRecord(deps, record),
              onDefer: (reason) => app.mailerMetrics.deferred.inc({ reason }),
              onError: (error) => app.log.error({ err: error }, 'record handling failed; will retry'),
              stopping: () => stopping,
              monitor,
              heartbeatMs: Math.floor(config.SESSION_TIMEOUT_MS / 10),
              commits,
              rejoin,
              scheduleResume: (resume, ms) => {
                const timer = setTimeout(() => {
                  resumeTimers.delete(timer);
                  if (!stopping) resume();
                }, ms);
                resumeTimers.add(timer);
              },
            }),
          ),
        });
      },
      app.log,
    );
    // Boot in the background (runtime/startup.ts): topics and the producer, then — once the
    // ledger is migrated — the group. Joining may wait out a dead member's session (30 s by
    // default after a crash); /readyz says "consumer: false" meanwhile, /healthz stays 200.
    void app.startup.step('kafka', async (signal) => {
      admin = await provisionTopics(kafka, emailTopics(config), app.log, config.BOOT_TIMEOUT_MS, signal, config.kafka);
      await producer.connect(admin, config.BOOT_TIMEOUT_MS, signal);
    });
    void Promise.all([app.startup.when('ledger'), app.startup.when('kafka')]).then(
      () => {
        if (stopping) return;
        relay.start();
        releaser.start();
        retries.start();
        commits.start();
      },
      () => {},
    );
    void app.startup.step('consumer group', async (signal) => {
      await Promise.all([app.startup.when('ledger'), app.startup.when('kafka')]);
      signal.throwIfAborted();
      const joined = supervisor.joined(signal);
      void supervisor.run();
      await joined;
    });

    // The brokers' view of each assigned partition (lag, committed offset), so a consumer that
    // silently stopped fetching shows up as a stall even though no batch reports it.
    const positionTimer = setInterval(() => {
      if (!admin) return;
      void brokerPositions(admin, config.CONSUMER_GROUP, monitor).catch((error) =>
        app.log.debug({ err: error }, 'could not read the group position'),
      );
    }, POSITION_CHECK_MS).unref();

    app.addHook('onClose', async () => {
      stopping = true;
      clearInterval(positionTimer);
      for (const timer of resumeTimers) clearTimeout(timer);
      // Each wait shares the one shutdown deadline (runtime/shutdown-deadline.ts): with a broker
      // cut off, these bounded waits in sequence outlasted SHUTDOWN_TIMEOUT_MS (e2e 27).
      const { shutdown } = app;
      // What the batches resolved since the last commit; batches still running commit their own at their end.
      await shutdown.drain('offset commit', commits.close(), 'records not committed are redelivered');
      await shutdown.drain(
        'schedule and retry releasers',
        Promise.all([releaser.stop(), retries.stop()]),
        'due emails not yet produced stay in the ledger for any mailer',
      );
      // Waits for the batches in progress (which stop starting records and finish the ones in
      // flight), commits what they resolved, and leaves the group so partitions move at once.
      await shutdown.drain('consumer', supervisor.stop(), 'records not committed are redelivered (a resend keeps its Message-ID)');
      // After the last outcomes were written, before the producer goes: publish what they wrote.
      await shutdown.drain('outbox relay', relay.stop(), 'unpublished events stay in the outbox for any mailer');
      await shutdown.drain('producer', producer.disconnect(), 'records whose retry was not acknowledged are redelivered');
      if (admin) await shutdown.drain('admin client', admin.disconnect(), 'nothing');
      app.log.info('consumer stopped');
    });
  },
  { name: 'kafka', dependencies: ['startup', 'shutdown', 'metrics', 'ledger', 'smtp', 'watchdog'] },
);

const POSITION_CHECK_MS = 30_000;
/** Above the ledger pool's 10 s query timeout (plugins/ledger.ts): the statement's own timeout decides. */
const LEDGER_BATCH_TIMEOUT_MS = 15_000;

async function brokerPositions(admin: Admin, groupId: string, monitor: StallMonitor): Promise<void> {
  const assigned = monitor.assignment();
  const topics = [...new Set(assigned.map((a) => a.topic))];
  if (topics.length === 0) return;
  const [ends, committed] = await Promise.all([
    Promise.all(topics.map(async (topic) => ({ topic, partitions: await admin.fetchTopicOffsets(topic) }))),
    admin.fetchOffsets({ groupId, topics }),
  ]);
  for (const { topic, partition } of assigned) {
    const end = ends.find((e) => e.topic === topic)?.partitions.find((p) => p.partition === partition);
    const offset = committed.find((c) => c.topic === topic)?.partitions.find((p) => p.partition === partition)?.offset;
    if (!end || offset === undefined) continue;
    // -1: nothing committed yet; the group starts from the beginning (fromBeginning).
    const from = offset === '-1' ? Number(end.low) : Number(offset);
    monitor.position(topic, partition, Number(end.high) - from, offset);
  }
}
