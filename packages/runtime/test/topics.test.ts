import type { Admin } from 'kafkajs';
import t from 'tap';
import { quietLogger, stackEnv, uniqueName } from '../../../test/helpers/env.js';
import { ownTopics } from '../../../test/helpers/topic-cleanup.js';
import { ConfigError, createKafka, emailTopics, ensureTopics, MAX_RECORD_BYTES } from '../src/index.js';
import { waitForLeaders } from '../src/topics.js';

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

/** A topic as an operator (or a cluster's auto-creation) made it before postline first started. */
async function preexisting(admin: Admin, name: string, replicationFactor: number, config: Record<string, string>): Promise<void> {
  ownTopics(name);
  await admin.createTopics({
    topics: [
      {
        topic: name,
        numPartitions: 2,
        replicationFactor,
        configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
      },
    ],
    waitForLeaders: false,
  });
  // Every broker knows it before the test goes on, as a topic made long ago would be.
  await waitForLeaders(admin, [name], 30_000);
}

t.test('an existing topic weaker than postline would create it is refused with a ConfigError naming the setting', async (t) => {
  const admin = createKafka({ brokers: stackEnv().brokers, clientId: 'topics-test-weak', logger: quietLogger }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const big = { 'max.message.bytes': String(MAX_RECORD_BYTES) };
  const cases: [string, number, Record<string, string>, RegExp][] = [
    // Kafka's own default: with it, acks=all can be answered by the leader alone once the ISR shrinks.
    ['min ISR 1', 3, { ...big, 'min.insync.replicas': '1' }, /has min\.insync\.replicas=1, needs 2 or more/],
    ['one replica', 1, big, /has 1 replica of a partition, needs 3 or more/],
    [
      'unclean election',
      3,
      { ...big, 'unclean.leader.election.enable': 'true' },
      /has unclean\.leader\.election\.enable=true, needs false/,
    ],
    ['compacted', 3, { ...big, 'cleanup.policy': 'compact' }, /has cleanup\.policy=compact, needs delete/],
    ['compacted and deleted', 3, { ...big, 'cleanup.policy': 'compact,delete' }, /has cleanup\.policy=compact,delete, needs delete/],
    ['small records', 3, { 'max.message.bytes': '1048588' }, /has max\.message\.bytes=1048588, needs 8388608 or more/],
  ];
  for (const [title, replicas, config, expected] of cases) {
    const name = uniqueName('weak');
    await preexisting(admin, name, replicas, config);
    const error = await ensureTopics(admin, [{ name, partitions: 2, config: big }]).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(error instanceof ConfigError, `${title}: a ConfigError (boot does not retry it)`);
    t.match(String((error as Error | null)?.message), expected, `${title}: says which setting`);
    t.match(String((error as Error | null)?.message), `topic ${name} `, `${title}: names the topic`);
  }

  // Several weaknesses of several topics: all in the one sentence.
  const a = uniqueName('weak-a');
  const b = uniqueName('weak-b');
  await preexisting(admin, a, 1, { 'min.insync.replicas': '1' });
  await preexisting(admin, b, 3, { 'unclean.leader.election.enable': 'true' });
  const both = await ensureTopics(admin, [
    { name: a, partitions: 2 },
    { name: b, partitions: 2 },
    { name: uniqueName('not-yet'), partitions: 2 },
  ]).catch((e: Error) => e.message);
  t.match(both, new RegExp(`topic ${a} has 1 replica.*; topic ${a} has min\\.insync\\.replicas=1.*; topic ${b} has unclean`));
  t.equal((await admin.listTopics()).filter((n) => n.startsWith('not-yet')).length, 0, 'nothing was created: boot stops first');
});

t.test("an existing topic with postline's settings, or stronger ones, is used as it is", async (t) => {
  const admin = createKafka({ brokers: stackEnv().brokers, clientId: 'topics-test-ok', logger: quietLogger }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const big = { 'max.message.bytes': String(MAX_RECORD_BYTES) };
  const own = uniqueName('strong');
  await preexisting(admin, own, 3, { ...big, 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' });
  const stronger = uniqueName('stronger');
  await preexisting(admin, stronger, 3, { 'min.insync.replicas': '3', 'max.message.bytes': String(2 * MAX_RECORD_BYTES) });
  t.same(
    await ensureTopics(admin, [
      { name: own, partitions: 2, config: big },
      { name: stronger, partitions: 2, config: big },
    ]),
    [],
    'accepted, nothing created',
  );
});

t.test(
  "a topic with no settings of its own is judged by the brokers' defaults",
  { skip: !process.env.STACK_CONTROL_URL && 'the stack is external' },
  async (t) => {
    const admin = createKafka({ brokers: stackEnv().brokers, clientId: 'topics-test-bare', logger: quietLogger }).admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    // The test stack's brokers default to min ISR 2, no unclean election, delete and 8 MiB records
    // (kafka-config.ts); Kafka's own defaults would fail the first two.
    const bare = uniqueName('bare');
    await preexisting(admin, bare, 3, {});
    t.same(await ensureTopics(admin, [{ name: bare, partitions: 2, config: { 'max.message.bytes': String(MAX_RECORD_BYTES) } }]), []);
  },
);
