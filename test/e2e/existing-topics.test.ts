import t from 'tap';
import { waitForLeaders } from '../../packages/runtime/src/topics.js';
import { freePort } from '../../packages/stack/src/ports.js';
import { apiEnv } from '../helpers/api.js';
import { stackEnv, uniqueName } from '../helpers/env.js';
import { testKafka, topicSize } from '../helpers/kafka.js';
import { MESSAGE_ID_DOMAIN } from '../helpers/mailer.js';
import { spawnService } from '../helpers/processes-mailer.js';
import { ownTopics } from '../helpers/topic-cleanup.js';

// Users who bring their own Kafka often find the topics made already: by an operator, or by the
// cluster's auto-creation with Kafka's defaults (min.insync.replicas=1). Every timing setting is
// the production default (BOOT_TIMEOUT_MS 120 s), so "at once" below means: not retried to it.

t.test(
  '20. topics that existed weaker than postline makes them → API, mailer and dispatcher each refuse to start, at once, naming the topic and the setting (defaults)',
  async (t) => {
    const { brokers, databaseUrl } = stackEnv();
    const base = uniqueName('existing');
    const topics = {
      EMAILS_TOPIC: `${base}.emails`,
      RETRY_TOPIC: `${base}.retry`,
      DEAD_LETTER_TOPIC: `${base}.dlq`,
      EVENTS_TOPIC: `${base}.events`,
    };
    ownTopics(...Object.values(topics));
    const admin = testKafka('existing-topics').admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    const eightMiB = String(8 * 1024 * 1024);
    await admin.createTopics({
      topics: [
        // Replicated, but Kafka's default min ISR: a 202 could stand on the leader's disk alone.
        {
          topic: topics.EMAILS_TOPIC,
          numPartitions: 3,
          replicationFactor: 3,
          configEntries: entries({ 'min.insync.replicas': '1', 'max.message.bytes': eightMiB }),
        },
        {
          topic: topics.EVENTS_TOPIC,
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: entries({ 'unclean.leader.election.enable': 'true' }),
        },
      ],
      waitForLeaders: false,
    });
    // Known to every broker, as topics made long ago are (a service that missed them would try to create them).
    await waitForLeaders(admin, [topics.EMAILS_TOPIC, topics.EVENTS_TOPIC], 30_000);

    const common = { KAFKA_BROKERS: brokers.join(','), DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', ...topics };
    const api = spawnService(t, 'api', { ...apiEnv(common), PORT: String(await freePort()), METRICS_PORT: '0', SUBMISSION_PORT: '0' });
    const mailer = spawnService(t, 'mailer', {
      ...common,
      SMTP_URL: 'smtp://127.0.0.1:1',
      MESSAGE_ID_DOMAIN,
      SENDER_DOMAINS: 'example.com',
      CONSUMER_GROUP: `${base}.group`,
      METRICS_PORT: '0',
    });
    const dispatcher = spawnService(t, 'webhooks', {
      ...common,
      WEBHOOK_CONSUMER_GROUP: `${base}.webhooks`,
      METRICS_PORT: String(await freePort()),
    });

    const within = (ms: number) => new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms).unref());
    for (const [name, service, settings] of [
      [
        'api',
        api,
        [`topic ${topics.EMAILS_TOPIC} has min.insync.replicas=1`, `topic ${topics.EVENTS_TOPIC} has unclean.leader.election.enable=true`],
      ],
      [
        'mailer',
        mailer,
        [`topic ${topics.EMAILS_TOPIC} has min.insync.replicas=1`, `topic ${topics.EVENTS_TOPIC} has unclean.leader.election.enable=true`],
      ],
      // The dispatcher provisions the events topic only.
      ['dispatcher', dispatcher, [`topic ${topics.EVENTS_TOPIC} has unclean.leader.election.enable=true`]],
    ] as const) {
      // 60 s: half of BOOT_TIMEOUT_MS, so an exit here is the check's, not the boot deadline's.
      const exit = await Promise.race([service.exited, within(60_000)]);
      t.same(exit, { code: 1, signal: null }, `${name}: exits 1`, { output: service.output().slice(-1_500) });
      t.equal(service.messages()['could not start: a setting must change'], 1, `${name}: one fatal line`);
      for (const setting of settings) t.match(service.fatalProblem(), setting, `${name}: says "${setting}"`);
      t.notOk(service.messages()['boot step failed; retrying'], `${name}: not retried`);
    }
    const left = new Set(await admin.listTopics());
    t.notOk(left.has(topics.RETRY_TOPIC) || left.has(topics.DEAD_LETTER_TOPIC), 'nothing was created: the check comes first');
    t.equal(await topicSize(testKafka('existing-topics-size'), topics.EMAILS_TOPIC), 0, 'nothing was written');
  },
);

function entries(config: Record<string, string>) {
  return Object.entries(config).map(([name, value]) => ({ name, value }));
}
