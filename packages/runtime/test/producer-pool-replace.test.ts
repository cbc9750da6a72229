// test-plan: standalone
import type { Kafka, Producer, ProducerConfig, ProducerRecord, RecordMetadata } from 'kafkajs';
import t from 'tap';
import { quietLogger, waitUntil } from '../../../test/helpers/env.js';
import { ProducerPool } from '../src/producer-pool.js';

interface FakeProducer {
  id: number;
  connects: number;
  disconnected: boolean;
  /** Each send waits until the test calls its `settle(error?)`. */
  sends: { topic: string; settle(error?: Error): void }[];
}

/** A Kafka whose producers are driven by the test (the pool's bookkeeping is pure logic). */
function fakeKafka(connectFailures = 0) {
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
              settle: (error) =>
                error
                  ? reject(error)
                  : resolve(record.messages.map((m) => ({ topicName: record.topic, partition: m.partition as number, errorCode: 0 }))),
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
  const failing = pool.send(0, 'emails', one, 1000);
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

t.test('no producer asks the cluster to create a topic: one deleted under the service is not remade with its defaults', async (t) => {
  const { kafka, options } = fakeKafka();
  new ProducerPool(kafka, 3, quietLogger);
  t.equal(options.length, 3);
  t.ok(
    options.every((o) => o.allowAutoTopicCreation === false && o.idempotent === true),
    'idempotent, never auto-creating (kafkajs defaults to asking)',
  );
});
