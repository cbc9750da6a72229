// test-plan: standalone
import type { Message, RecordMetadata } from 'kafkajs';
import t from 'tap';
import { sendCovered, UncoveredSendError } from '../src/send-covered.js';

const pinned = (partition: number, key: string): Message => ({ key, value: key, partition });
const meta = (partition: number): RecordMetadata => ({ topicName: 'emails', partition, errorCode: 0 });
const messages = [pinned(0, 'a'), pinned(1, 'b'), pinned(2, 'c'), pinned(1, 'd')];

t.test('every partition acknowledged: one send', async (t) => {
  const sends: string[][] = [];
  const gaps: number[][] = [];
  await sendCovered(
    async (ms) => {
      sends.push(ms.map((m) => String(m.key)));
      return [...new Set(ms.map((m) => m.partition as number))].map(meta);
    },
    messages,
    (p) => gaps.push(p),
  );
  t.same(sends, [['a', 'b', 'c', 'd']]);
  t.same(gaps, []);
});

t.test('a partition missing from the result (kafkajs failover) is sent again, alone', async (t) => {
  const sends: string[][] = [];
  const gaps: number[][] = [];
  await sendCovered(
    async (ms) => {
      sends.push(ms.map((m) => String(m.key)));
      // First call: the answer of the broker that died never made it into the result.
      const partitions = [...new Set(ms.map((m) => m.partition as number))];
      return (sends.length === 1 ? partitions.filter((p) => p !== 1) : partitions).map(meta);
    },
    messages,
    (p) => gaps.push(p),
  );
  t.same(sends, [
    ['a', 'b', 'c', 'd'],
    ['b', 'd'],
  ]);
  t.same(gaps, [[1]]);
});

t.test('never resolves while a partition stays unacknowledged', async (t) => {
  let calls = 0;
  await t.rejects(
    sendCovered(
      async () => {
        calls++;
        return [meta(0)];
      },
      messages,
      () => {},
    ),
    UncoveredSendError,
  );
  t.equal(calls, 10);
});

t.test('a failed send rejects (the caller answers 503)', async (t) => {
  await t.rejects(
    sendCovered(
      async () => Promise.reject(new Error('NOT_ENOUGH_REPLICAS')),
      messages,
      () => {},
    ),
    /NOT_ENOUGH_REPLICAS/,
  );
});
