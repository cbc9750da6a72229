// test-plan: standalone
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import t from 'tap';
import { fastDefaultPartitioner, keyPartition, murmur2 } from '../src/murmur2.js';

// kafkajs' own murmur2 (not exported by its index): the reference the fast one must equal.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: string | Buffer,
) => number;

t.test("the Java client's values (Kafka's UtilsTest)", async (t) => {
  const known: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, hash] of known) t.equal(murmur2(key), hash, key);
});

t.test("equals kafkajs' hash on random keys of every length and tail, strings and buffers", async (t) => {
  let differ = 0;
  for (let i = 0; i < 20_000; i++) {
    const bytes = randomBytes(i % 80);
    // Non-ASCII strings too: both hash the UTF-8 bytes.
    const key = i % 3 === 0 ? bytes : i % 3 === 1 ? bytes.toString('hex') : `${bytes.toString('latin1')}é中`;
    if (murmur2(key) !== kafkajsMurmur2(key)) differ++;
  }
  t.equal(differ, 0);
});

t.test("the partitioner puts every record where kafkajs' default partitioner does", async (t) => {
  const reference = Partitioners.DefaultPartitioner();
  const ours = fastDefaultPartitioner();
  let differ = 0;
  for (const partitions of [1, 3, 6, 12, 50]) {
    const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
      partitionId: i,
      leader: i % 3,
      replicas: [],
      isr: [],
      partitionErrorCode: 0,
    }));
    for (let i = 0; i < 2_000; i++) {
      const message = { key: crypto.randomUUID(), value: null };
      const args = { topic: 'emails', partitionMetadata, message };
      if (ours(args) !== reference(args) || ours(args) !== keyPartition(message.key, partitions)) differ++;
    }
    // A pinned record keeps its partition; a keyless one goes round-robin over the partitions with a leader.
    t.equal(ours({ topic: 'emails', partitionMetadata, message: { key: 'k', value: null, partition: 0 } }), 0);
    const keyless = ours({ topic: 'emails', partitionMetadata, message: { value: 'v' } });
    t.ok(keyless >= 0 && keyless < partitions);
  }
  t.equal(differ, 0);
});
