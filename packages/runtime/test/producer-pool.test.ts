import type { Message } from 'kafkajs';
import t from 'tap';
import { uniqueName } from '../../../test/helpers/env.js';
import { testKafka } from '../../../test/helpers/kafka.js';
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
