import t from 'tap';
import { quietLogger, stackEnv, uniqueName } from '../../../test/helpers/env.js';
import { createKafka, emailTopics, ensureTopics } from '../src/index.js';

t.test('provisions the pipeline topics once, replicated 3 ways with min ISR 2; a second (racing) call is a no-op', async (t) => {
  const kafka = createKafka({ brokers: stackEnv().brokers, clientId: 'topics-test', logger: quietLogger });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const base = uniqueName('prov');
  const specs = emailTopics({
    EMAILS_TOPIC: `${base}.emails`,
    EMAILS_PARTITIONS: 12,
    RETRY_TOPIC: `${base}.retry`,
    RETRY_PARTITIONS: 6,
    DEAD_LETTER_TOPIC: `${base}.dlq`,
    DEAD_LETTER_PARTITIONS: 3,
    EVENTS_TOPIC: `${base}.events`,
    EVENTS_PARTITIONS: 6,
  });
  // Two services starting together: each with its own client, as in production.
  const other = createKafka({ brokers: stackEnv().brokers, clientId: 'topics-test-2', logger: quietLogger }).admin();
  await other.connect();
  t.teardown(() => other.disconnect());
  const [first, second] = await Promise.all([ensureTopics(admin, specs), ensureTopics(other, specs)]);
  t.ok(first.length + second.length >= 3, 'created (by one racer or the other)');
  t.same(await ensureTopics(admin, specs), [], 'nothing left to create');

  const meta = await admin.fetchTopicMetadata({ topics: [`${base}.emails`] });
  const partitions = meta.topics[0]!.partitions;
  t.equal(partitions.length, 12);
  t.ok(
    partitions.every((p) => p.replicas.length === 3),
    'every partition has 3 replicas',
  );

  const configs = await admin.describeConfigs({ resources: [{ type: 2, name: `${base}.emails` }], includeSynonyms: false });
  const entries = Object.fromEntries(configs.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
  t.equal(entries['min.insync.replicas'], '2');
  t.equal(entries['unclean.leader.election.enable'], 'false');
  t.equal(entries['max.message.bytes'], String(8 * 1024 * 1024));
});
