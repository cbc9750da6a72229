// test-plan: standalone
import { Partitioners } from 'kafkajs';
import t from 'tap';
import { splitByPartition } from '../src/partition-split.js';

const partitionMetadata = Array.from({ length: 12 }, (_, i) => ({
  partitionId: i,
  leader: i % 3,
  replicas: [0, 1, 2],
  isr: [0, 1, 2],
  partitionErrorCode: 0,
}));
const messages = Array.from({ length: 200 }, (_, i) => ({ key: `email-${i}`, value: `v${i}` }));

t.test('one group per partition, each message where kafkajs would put it, none lost or reordered', async (t) => {
  const groups = splitByPartition('emails', partitionMetadata, messages);
  const reference = Partitioners.DefaultPartitioner();
  t.ok(groups.length > 1 && groups.length <= 12);
  t.equal(new Set(groups.map((g) => g.partition)).size, groups.length, 'one group per partition');
  for (const { partition, messages: group } of groups) {
    t.same(new Set(group.map((m) => m.partition)), new Set([partition]), 'a single partition per send');
    for (const m of group) t.equal(m.partition, reference({ topic: 'emails', partitionMetadata, message: { key: m.key, value: m.value } }));
  }
  const flat = groups.flatMap((g) => g.messages);
  t.equal(flat.length, 200);
  t.same(new Set(flat.map((m) => m.key)), new Set(messages.map((m) => m.key)));
  for (const { messages: group } of groups) {
    const order = group.map((m) => Number(String(m.key).slice(6)));
    t.same(
      order,
      [...order].sort((a, b) => a - b),
      'order kept within a partition',
    );
  }
});
