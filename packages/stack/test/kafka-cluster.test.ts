import { emailTopics, ensureTopics } from '@postline/runtime';
import { Partitioners } from 'kafkajs';
import t from 'tap';
import { uniqueName } from '../../../test/helpers/env.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';

t.test('produces to `emails` with acks=all and reads the record back', async (t) => {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await ensureTopics(
    admin,
    emailTopics({
      EMAILS_TOPIC: 'emails',
      EMAILS_PARTITIONS: 12,
      RETRY_TOPIC: 'emails.retry',
      RETRY_PARTITIONS: 6,
      DEAD_LETTER_TOPIC: 'emails.dead-letter',
      DEAD_LETTER_PARTITIONS: 3,
      EVENTS_TOPIC: 'emails.events',
      EVENTS_PARTITIONS: 6,
    }),
  );
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());

  const key = uniqueName('probe');
  const [meta] = await producer.send({ topic: 'emails', acks: -1, messages: [{ key, value: JSON.stringify({ hello: key }) }] });
  t.equal(meta?.errorCode, 0, 'acknowledged by the in-sync replicas');

  const records = await readTopic(kafka, 'emails', (rs) => rs.some((r) => r.key === key));
  const found = records.find((r) => r.key === key);
  t.ok(found, 'read back');
  t.equal(found?.partition, meta?.partition);
  t.equal(found?.offset, meta?.baseOffset);
  t.same(JSON.parse(found?.value ?? '{}'), { hello: key });
});
