// test-plan: standalone
import type { Kafka, Producer, ProducerConfig, ProducerRecord, RecordMetadata } from 'kafkajs';
import t, { type Test } from 'tap';
import { quietLogger, waitUntil } from '../../../test/helpers/env.js';
import { ProducerPool, SendAbandonedError } from '../src/producer-pool.js';
import { UncoveredSendError } from '../src/send-covered.js';

interface FakeProducer {
  id: number;
  connects: number;
  disconnected: boolean;
  /** Each send waits until the test calls its `settle(error?)`; `acked` lists the partitions in its result (default: all). */
  sends: { topic: string; settle(error?: Error, acked?: number[]): void }[];
}

/** A Kafka whose producers are driven by the test (the pool's bookkeeping is pure logic). */
function fakeKafka(connectFailures = 0, hangingConnects = new Set<number>()) {
  const made: FakeProducer[] = [];
  const options: ProducerConfig[] = [];
  let failures = connectFailures;
  const kafka = {
    producer: (config: ProducerConfig) => {
      options.push(config);
      const fake: FakeProducer = { id: made.length, connects: 0, disconnected: false, sends: [] };
      made.push(fake);
      const onDisconnect: (() => void)[] = [];
      return {
        events: { DISCONNECT: 'producer.disconnect' },
        on: (_event: string, listener: () => void) => void onDisconnect.push(listener),
        connect: async () => {
          fake.connects++;
          // As kafkajs' connect through a broker that accepts but never answers.
          if (hangingConnects.has(fake.id)) await new Promise(() => {});
          if (made.length > 1 && failures-- > 0) throw new Error('brokers away');
        },
        disconnect: async () => {
          fake.disconnected = true;
          for (const l of onDisconnect) l();
        },
        send: (record: ProducerRecord) =>
          new Promise<RecordMetadata[]>((resolve, reject) =>
            fake.sends.push({
              topic: record.topic,
              settle: (error, acked) =>
                error
                  ? reject(error)
                  : resolve(
                      record.messages
                        .filter((m) => !acked || acked.includes(m.partition as number))
                        .map((m) => ({ topicName: record.topic, partition: m.partition as number, errorCode: 0 })),
                    ),
            }),
          ),
      } as unknown as Producer;
    },
  } as unknown as Kafka;
  return { kafka, made, options };
}

const one = [{ key: 'k', value: 'v', partition: 0 }];

t.test('a failed send replaces the producer; its other send in flight finishes on it, and only then is it disconnected', async (t) => {
  const { kafka, made } = fakeKafka();
  const pool = new ProducerPool(kafka, 1, quietLogger);
  await pool.connect();
  const [first] = made as [FakeProducer];
  // The mailer's retry and dead-letter batchers share producer 0: two sends in flight on it.
  const retry = pool.send(0, 'retry', one, 1000);
  const dlq = pool.send(0, 'dlq', one, 1000);
  await waitUntil(() => first.sends.length === 2, 1000);
  first.sends[0]?.settle(new Error('MESSAGE_TOO_LARGE'));
  await t.rejects(retry);
  t.ok(
    await waitUntil(() => made.length === 2 && made[1]?.connects === 1, 1000),
    'a new producer (a new producer id) takes the slot, connected at once',
  );
  t.notOk(first.disconnected, 'the old one still carries the dead-letter send');
  first.sends[1]?.settle();
  await dlq;
  t.ok(await waitUntil(() => first.disconnected, 1000), 'disconnected after its last send');
  const next = pool.send(0, 'retry', one, 1000);
  await waitUntil(() => (made[1]?.sends.length ?? 0) === 1, 1000);
  made[1]?.sends[0]?.settle();
  await next;
  t.equal(first.sends.length, 2, 'nothing more went through the old producer');
  t.ok(pool.connected, 'the slot is ready');
  await pool.disconnect();
});

t.test('a replacement that cannot connect keeps trying, so readiness comes back without a send', async (t) => {
  const { kafka, made } = fakeKafka(1);
  const pool = new ProducerPool(kafka, 1, quietLogger);
  await pool.connect();
  // Records kafkajs placed itself: the producer replaced keeps none of them (see the fallback cases below).
  const failing = pool.send(0, 'emails', [{ key: 'k', value: 'v' }], 1000);
  await waitUntil(() => made[0]?.sends.length === 1, 1000);
  made[0]?.sends[0]?.settle(new Error('INVALID_RECORD'));
  await t.rejects(failing);
  t.notOk(pool.connected, 'not ready while the replacement is not connected');
  t.ok(await waitUntil(() => pool.connected, 5000), 'ready again');
  t.equal(made[1]?.connects, 2, 'connected on its second attempt, a second later');
  await pool.disconnect();
  t.ok(
    made.every((p) => p.disconnected),
    'every producer is disconnected at close',
  );
});

t.test('a producer that does not connect in time is dropped for a new one, at boot and for a send', async (t) => {
  // Producers 0 and 2 connect through a broker that never answers.
  const { kafka, made } = fakeKafka(0, new Set([0, 2]));
  const pool = new ProducerPool(kafka, 1, quietLogger, 'none', { connectWithinMs: 200 });
  await t.rejects(pool.connect(), { name: 'ConnectDeadlineError' }, 'boot: the attempt fails at the deadline (the boot step tries again)');
  t.equal(made.length, 2, 'a new producer took the slot');
  t.ok(made[0]?.disconnected, 'the one that hung is disconnected');
  await pool.connect();
  t.ok(pool.connected, 'the second connects');
  // A failed send: its replacement (producer 2) hangs too; the send waits for the one after it.
  const failing = pool.send(0, 'emails', one, 1000);
  await waitUntil(() => made[1]?.sends.length === 1, 1000);
  made[1]?.sends[0]?.settle(new Error('INVALID_RECORD'));
  await t.rejects(failing);
  const next = pool.send(0, 'emails', one, 1000);
  t.ok(await waitUntil(() => made[3]?.sends.length === 1, 2000), 'the next send went through producer 3, past the one that hung');
  made[3]?.sends[0]?.settle();
  await next;
  t.ok(made[2]?.disconnected);
  t.ok(pool.connected);
  await pool.disconnect();
});

/** Producer 0's send to emails:0 failed; producer 1, its replacement, connects through a broker that never answers. */
async function afterFailedSend(t: Test) {
  const { kafka, made } = fakeKafka(0, new Set([1]));
  const pool = new ProducerPool(kafka, 1, quietLogger, 'none', { connectWithinMs: 300 });
  await pool.connect();
  const at = (partition: number) => [{ key: 'k', value: 'v', partition }];
  const failing = pool.send(0, 'emails', at(0), 1000);
  await waitUntil(() => made[0]?.sends.length === 1, 1000);
  made[0]?.sends[0]?.settle(new Error('MESSAGE_TOO_LARGE'));
  await t.rejects(failing);
  return { pool, made, at };
}

t.test('while a replacement connects, a send to other partitions goes through the producer it replaced', async (t) => {
  const { pool, made, at } = await afterFailedSend(t);
  t.ok(pool.connected, 'ready: the slot can send through producer 0 while producer 1 connects');
  const other = pool.send(0, 'emails', at(1), 1000);
  t.ok(await waitUntil(() => made[0]?.sends.length === 2, 100), 'partition 1: at once, through producer 0');
  const same = pool.send(0, 'emails', at(0), 1000);
  const elsewhere = pool.send(0, 'retry', at(0), 1000);
  t.ok(await waitUntil(() => made[0]?.sends.length === 3, 100), 'partition 0 of another topic too');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(made[0]?.sends.length, 3, 'partition 0 of the failed send: never through producer 0');
  t.ok(await waitUntil(() => made[2]?.sends.length === 1, 2000), 'it waits for a replacement that connects (producer 2)');
  t.notOk(made[0]?.disconnected, 'producer 0 still carries two sends');
  made[0]?.sends[1]?.settle();
  made[0]?.sends[2]?.settle();
  made[2]?.sends[0]?.settle();
  await Promise.all([other, same, elsewhere]);
  t.ok(await waitUntil(() => made[0]?.disconnected === true, 1000), 'then producer 0 is disconnected');
  const next = pool.send(0, 'emails', at(1), 1000);
  t.ok(await waitUntil(() => made[2]?.sends.length === 2, 1000), 'and every send goes through producer 2');
  made[2]?.sends[1]?.settle();
  await next;
  await pool.disconnect();
});

t.test('a send through the replaced producer that fails too: nothing more goes through it', async (t) => {
  const { pool, made, at } = await afterFailedSend(t);
  const second = pool.send(0, 'emails', at(1), 1000);
  await waitUntil(() => made[0]?.sends.length === 2, 100);
  made[0]?.sends[1]?.settle(new Error('MESSAGE_TOO_LARGE'));
  await t.rejects(second);
  t.ok(await waitUntil(() => made[0]?.disconnected === true, 1000), 'disconnected at once');
  t.notOk(pool.connected, 'not ready until the replacement connects');
  const third = pool.send(0, 'emails', at(2), 1000);
  t.ok(await waitUntil(() => made[2]?.sends.length === 1, 2000), 'the next send waits for the replacement');
  t.equal(made[0]?.sends.length, 2);
  made[2]?.sends[0]?.settle();
  await third;
  await pool.disconnect();
});

t.test('no producer asks the cluster to create a topic: one deleted under the service is not remade with its defaults', async (t) => {
  const { kafka, options } = fakeKafka();
  new ProducerPool(kafka, 3, quietLogger);
  t.equal(options.length, 3);
  t.ok(
    options.every((o) => o.allowAutoTopicCreation === false && o.idempotent === true),
    'idempotent, never auto-creating (kafkajs defaults to asking)',
  );
});

t.test(
  'a send that does not end is given up after the deadline: the next goes through a new producer, the old one goes once its send ends',
  async (t) => {
    const { kafka, made } = fakeKafka();
    const pool = new ProducerPool(kafka, 1, quietLogger, 'none', { abandonAfterMs: 200 });
    await pool.connect();
    const [first] = made as [FakeProducer];
    // kafkajs retrying a retriable error for ever (idempotence: unbounded retries).
    const hung = pool.send(0, 'retry', one, 1000);
    await t.rejects(hung, SendAbandonedError, 'the caller is told, after 200 ms, rather than never');
    t.ok(await waitUntil(() => made.length === 2 && made[1]?.connects === 1, 1000), 'a new producer took the slot');
    const next = pool.send(0, 'retry', one, 1000);
    t.ok(await waitUntil(() => made[1]?.sends.length === 1, 1000), 'the next send goes through it, not behind the one given up');
    made[1]?.sends[0]?.settle();
    await next;
    t.notOk(first.disconnected, 'the old producer still holds its send');
    first.sends[0]?.settle();
    t.ok(await waitUntil(() => first.disconnected, 1000), 'and is disconnected once it ends');
    await pool.disconnect();
  },
);

t.test(
  'while a send given up still runs, the new producer is not given up too: one left running per slot, however long the outage',
  async (t) => {
    const { kafka, made } = fakeKafka();
    const pool = new ProducerPool(kafka, 1, quietLogger, 'none', { abandonAfterMs: 200 });
    await pool.connect();
    await t.rejects(pool.send(0, 'retry', one, 1000), SendAbandonedError);
    await waitUntil(() => made.length === 2, 1000);
    let settled = false;
    const second = pool.send(0, 'retry', one, 1000).finally(() => {
      settled = true;
    });
    await waitUntil(() => made[1]?.sends.length === 1, 1000);
    await new Promise((resolve) => setTimeout(resolve, 600));
    t.notOk(settled, 'three deadlines later, still waiting');
    t.equal(made.length, 2, 'no third producer');
    // Another topic's send on the producer already given up (the mailer shares one) is given up with it: no new producer for that.
    made[0]?.sends[0]?.settle(new Error('NOT_ENOUGH_REPLICAS'));
    await t.rejects(second, SendAbandonedError, 'the first one ended: the second is given up at its next look');
    t.equal(made.length, 3, 'and its producer replaced');
    await pool.disconnect();
  },
);

t.test('a producer given up is given up for all its sends: another topic on it does not wait for a new producer', async (t) => {
  const { kafka, made } = fakeKafka();
  const pool = new ProducerPool(kafka, 1, quietLogger, 'none', { abandonAfterMs: 200 });
  await pool.connect();
  const retry = pool.send(0, 'retry', one, 1000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const events = pool.send(0, 'events', one, 1000);
  await t.rejects(retry, SendAbandonedError);
  await t.rejects(events, SendAbandonedError, 'given up at its own deadline, though another producer of the slot is given up');
  t.equal(made.length, 2, 'one replacement for both');
  await pool.disconnect();
});

t.test('a producer that leaves a partition out of ten sends in a row is replaced: the next send starts on fresh metadata', async (t) => {
  const { kafka, made } = fakeKafka();
  const pool = new ProducerPool(kafka, 1, quietLogger);
  await pool.connect();
  const [first] = made as [FakeProducer];
  const two = [...one, { key: 'k2', value: 'v2', partition: 1 }];
  const sent = pool.send(0, 'retry', two, 1000);
  for (let round = 0; round < 10; round++) {
    await waitUntil(() => first.sends.length === round + 1, 1000);
    first.sends[round]?.settle(undefined, [0]);
  }
  await t.rejects(sent, UncoveredSendError);
  t.ok(await waitUntil(() => made.length === 2 && made[1]?.connects === 1, 1000), 'a new producer took the slot');
  t.ok(first.disconnected, 'the old one is disconnected (no send of it left)');
  await pool.disconnect();
});
