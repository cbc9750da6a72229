import type { Message } from 'kafkajs';
import t from 'tap';
import { uniqueName, waitUntil } from '../../../test/helpers/env.js';
import { testKafka, topicSize } from '../../../test/helpers/kafka.js';
import { ensureTopics, type LogSink, ProducerPool, topicOffsets } from '../src/index.js';

/** A sink that keeps the warnings' messages. */
function warnings(): { log: LogSink; seen: string[] } {
  const seen: string[] = [];
  const log: LogSink = {
    info() {},
    error() {},
    debug() {},
    warn: (_obj: unknown, msg?: string) => void seen.push(String(msg)),
    child: () => log,
  };
  return { log, seen };
}

t.test('after a send one partition refused for good, the next send of the others is written, not taken for a duplicate', async (t) => {
  const kafka = testKafka('producer-pool-test');
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  // A topic refusing records over 1 KiB: MESSAGE_TOO_LARGE is not retriable, so the send fails
  // after the broker wrote the request's other partitions (what large emails once did at 8 MiB).
  const topic = uniqueName('pool');
  await ensureTopics(admin, [{ name: topic, partitions: 6, config: { 'max.message.bytes': '1024' } }]);
  const partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions ?? [];
  // Two partitions led by one broker, so one request carries both.
  const led = (leader: number) => partitions.filter((p) => p.leader === leader).map((p) => p.partitionId);
  const pair = partitions.map((p) => led(p.leader)).find((ids) => ids.length >= 2);
  if (!pair) throw new Error('no broker leads two of 6 partitions');
  const [refused, written] = pair as [number, number];

  const { log, seen } = warnings();
  const pool = new ProducerPool(kafka, 1, log);
  await pool.connect();
  t.teardown(() => pool.disconnect());
  const to = (partition: number, value: string): Message => ({ key: value, value, partition });

  await pool.send(0, topic, [to(refused, 'a'), to(written, 'b')], 10_000);
  await t.rejects(pool.send(0, topic, [to(refused, 'x'.repeat(4096)), to(written, 'c')], 10_000), 'one partition refuses the record');
  t.ok(seen.includes('a produce failed: replacing its producer, so no later send reuses its sequence numbers'), 'the producer is replaced');
  await pool.send(0, topic, [to(written, 'd')], 10_000);
  await pool.send(0, topic, [to(refused, 'e')], 10_000);

  const offsets = await topicOffsets(admin, topic);
  const held = (p: number) => Number(offsets.find((o) => o.partition === p)?.high);
  // 'c' was written although its send failed; without a new producer id, 'd' reused c's sequence number and was dropped.
  t.equal(held(written), 3, "b, c and d are on the partition the broker took: d's ack means it was written");
  t.equal(held(refused), 2, 'a and e on the one that refused x');
  t.ok(pool.connected, 'the replacement is connected');
});

t.test('sends to topics still spreading write each record once (kafkajs retried over a request in flight)', async (t) => {
  const kafka = testKafka('producer-pool-test');
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const pool = new ProducerPool(kafka, 1, warnings().log);
  await pool.connect();
  t.teardown(() => pool.disconnect());
  // The race needs one broker to refuse its partitions at once while another waits for its acks.
  // A topic sent to as soon as the controller names its leaders does that often: some brokers do
  // not host their partitions yet. (ensureTopics waits until every broker knows the topic, which
  // narrows the window to what a loaded host meets: 0 of 20 here, one batch in a CI run.)
  // Unpatched (scripts/patch-kafkajs.mjs), 18 of 60 such topics got 1-4 records twice.
  const rounds = 20;
  const over: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const topic = uniqueName('spreading');
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }], waitForLeaders: false });
    const led = await waitUntil(async () => {
      const partitions = (await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => null))?.topics[0]?.partitions ?? [];
      return partitions.length === 6 && partitions.every((p) => p.leader >= 0);
    }, 30_000);
    if (!led) throw new Error(`${topic}: no leaders within 30 s`);
    const messages = [0, 1, 2, 3, 4, 5].map((partition): Message => ({ key: `k${partition}`, value: 'x', partition }));
    await pool.send(0, topic, messages, 10_000);
    const held = await topicSize(kafka, topic);
    if (held !== messages.length) over.push(`${topic}: ${held}`);
  }
  t.same(over, [], `${rounds} topics, 6 records each, each written once`);
});
