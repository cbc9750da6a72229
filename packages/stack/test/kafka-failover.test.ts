import { ensureTopics } from '@postline/runtime';
import { Partitioners } from 'kafkajs';
import t from 'tap';
import { sleep, uniqueName } from '../../../test/helpers/env.js';
import { testKafka } from '../../../test/helpers/kafka.js';
import { stackControl } from '../src/control-client.js';

const control = stackControl();

t.test(
  'with one node killed, acks=all produce still succeeds; the node restarts and rejoins the ISR',
  { skip: !control && 'the stack is external (no STACK_CONTROL_URL)' },
  async (t) => {
    const kafka = testKafka('failover');
    const admin = kafka.admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    const topic = uniqueName('failover');
    await ensureTopics(admin, [{ name: topic, partitions: 3 }]);
    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    t.teardown(() => producer.disconnect());

    await control!.kafka(2, 'kill');
    t.teardown(() => control!.kafka(2, 'start'));
    const nodes = await control!.kafkaNodes();
    t.equal(nodes.find((n) => n.id === 2)?.state, 'stopped', 'node 2 is down');

    // Every partition has a replica on node 2; with it dead the leaders move and the ISR shrinks
    // to 2, which still satisfies min.insync.replicas=2.
    const sent = [];
    for (let i = 0; i < 30; i++) {
      const [meta] = await producer.send({ topic, acks: -1, timeout: 30_000, messages: [{ key: `k${i}`, value: `v${i}` }] });
      sent.push(meta);
    }
    t.equal(sent.filter((m) => m?.errorCode === 0).length, 30, '30 records acknowledged with acks=all while a node is down');
    const offsets = await admin.fetchTopicOffsets(topic);
    t.equal(
      offsets.reduce((n, p) => n + Number(p.high), 0),
      30,
      'all 30 are on the topic',
    );

    await control!.kafka(2, 'start');
    t.equal((await control!.kafkaNodes()).find((n) => n.id === 2)?.state, 'running', 'node 2 is back');

    // Rejoined: node 2 is a broker again and catches up into every partition's ISR.
    let isrFull = false;
    for (let i = 0; i < 60 && !isrFull; i++) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      isrFull = meta.topics[0]!.partitions.every((p) => p.isr.length === 3);
      if (!isrFull) await sleep(1_000);
    }
    t.ok(isrFull, 'every partition is back to 3 in-sync replicas');
    const cluster = await admin.describeCluster();
    t.same(cluster.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
  },
);
