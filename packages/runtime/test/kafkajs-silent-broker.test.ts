// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { COORDINATOR_TIMEOUT_PATCH_MARKER, FETCH_TIMEOUT_PATCH_MARKER } from '../src/kafkajs-patch.js';

// kafkajs' own ConsumerGroup and producer send, as installed here (patched by
// scripts/kafkajs-silent-broker-patch.mjs), over brokers and a cluster the test stands in for: what
// a fetch, a heartbeat and a produce that a broker did not answer lead to. e2e 26
// (test/e2e/coordinator-loss.test.ts) is the same path against a real cluster whose broker freezes.
// Against kafkajs unpatched, 15 of the other 27 assertions fail (the timeouts are thrown or retried
// as they came, nothing is removed, nothing is looked up).

const require = createRequire(import.meta.url);
const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as new (options: object) => GroupLike;
const { KafkaJSRequestTimeoutError, KafkaJSConnectionError, KafkaJSProtocolError } = require('kafkajs/src/errors.js') as {
  KafkaJSRequestTimeoutError: new (message: string, details: { broker: string }) => Error;
  KafkaJSConnectionError: new (message: string, details: { broker: string }) => Error;
  KafkaJSProtocolError: new (e: object) => Error;
};

interface GroupLike {
  coordinator: unknown;
  memberId: string | null;
  recoverFromFetch(e: Error): Promise<void>;
  heartbeat(options: { interval: number }): Promise<void>;
}

const logger = { namespace: () => logger, debug() {}, info() {}, warn() {}, error() {} };
const address = (nodeId: number) => `127.0.0.1:${9091 + nodeId}`;

/**
 * A consumer group over brokers 1–3 (127.0.0.1:9092–9094), coordinated by `coordinatorId`, whose
 * heartbeats answer with `heartbeat` and whose cluster names `named` as the coordinator now.
 */
function group(coordinatorId: number, options: { heartbeat?: () => Promise<void>; named?: number | Error } = {}) {
  const disconnected: number[] = [];
  const removed: { host: string; port: number }[] = [];
  /** Each look-up: the group, and the broker asked (0: kafkajs' cluster, which picks one). */
  const lookups: string[] = [];
  const named = async (groupId: string, by: number) => {
    lookups.push(`${groupId} of ${by}`);
    const node = options.named ?? coordinatorId;
    if (node instanceof Error) throw node;
    return { coordinator: { nodeId: node } };
  };
  const broker = (nodeId: number) => ({
    nodeId,
    connectionPool: { host: '127.0.0.1', port: 9091 + nodeId },
    isConnected: () => true,
    disconnect: async () => {
      disconnected.push(nodeId);
    },
    heartbeat: options.heartbeat ?? (async () => {}),
    findGroupCoordinator: ({ groupId }: { groupId: string }) => named(groupId, nodeId),
  });
  const brokers = Object.fromEntries([1, 2, 3].map((id) => [id, broker(id)]));
  const cluster = {
    brokerPool: { brokers },
    removeBroker: (at: { host: string; port: number }) => removed.push(at),
    refreshMetadata: async () => {},
    findGroupCoordinatorMetadata: ({ groupId }: { groupId: string }) => named(groupId, 0),
  };
  const g = new ConsumerGroup({
    logger,
    cluster,
    groupId: 'g',
    topics: [],
    topicConfigurations: {},
    instrumentationEmitter: { emit() {} },
    retry: { retries: 0 },
  });
  g.coordinator = brokers[coordinatorId];
  g.memberId = 'member-1';
  return { g, disconnected, removed, lookups };
}

const timedOut = (request: string, nodeId: number) =>
  new KafkaJSRequestTimeoutError(`Request ${request} timed out`, { broker: address(nodeId) });

t.test('the kafkajs installed here carries both mends', async (t) => {
  const text = readFileSync(require.resolve('kafkajs/src/consumer/consumerGroup.js'), 'utf8');
  t.match(text, FETCH_TIMEOUT_PATCH_MARKER);
  t.match(text, COORDINATOR_TIMEOUT_PATCH_MARKER);
});

t.test(
  'a fetch that timed out takes its broker out of the pool (the next fetch reads the metadata anew) and closes its connection',
  async (t) => {
    const { g, disconnected, removed } = group(1);
    await t.resolves(
      g.recoverFromFetch(timedOut('Fetch(key: 1, version: 11)', 3)),
      'not thrown: no fetcher restart waits on the silent broker',
    );
    t.same(removed, [{ host: '127.0.0.1', port: 9094 }], 'the broker that did not answer, by its address');
    t.same(disconnected, [3], 'its connection closed');
  },
);

t.test('a fetch from the group coordinator that timed out leaves its connection to the heartbeats', async (t) => {
  const { g, disconnected, removed } = group(3);
  await t.resolves(g.recoverFromFetch(timedOut('Fetch(key: 1, version: 11)', 3)));
  t.same(removed, [{ host: '127.0.0.1', port: 9094 }], 'out of the pool all the same');
  t.same(disconnected, [], 'not disconnected under its heartbeat');
});

t.test('other fetch errors are what they were', async (t) => {
  const { g, disconnected, removed } = group(1);
  const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9094', { broker: address(3) });
  await t.rejects(
    g.recoverFromFetch(refused),
    refused,
    'a refused connection is thrown: it comes back at once, and kafkajs paces its retries',
  );
  t.same([removed, disconnected], [[], []]);
});

t.test(
  'a heartbeat that timed out, while the cluster names another coordinator, fails as "not the coordinator": the runner joins again',
  async (t) => {
    const { g, lookups, removed, disconnected } = group(1, {
      heartbeat: () => Promise.reject(timedOut('Heartbeat(key: 12, version: 3)', 1)),
      named: 2,
    });
    await t.rejects(g.heartbeat({ interval: 0 }), { name: 'KafkaJSProtocolError', type: 'NOT_COORDINATOR_FOR_GROUP' });
    t.same(lookups, ['g of 2'], 'the coordinator looked up once, for this group, of a broker other than the silent one');
    t.same(removed, [{ host: '127.0.0.1', port: 9092 }], 'the silent one out of the pool (the join picks from it)');
    t.same(disconnected, [1], 'and its connection closed');
  },
);

t.test(
  'a heartbeat that timed out, while the cluster names the same coordinator (a cut of this client alone), stays a timeout',
  async (t) => {
    const timeout = timedOut('Heartbeat(key: 12, version: 3)', 1);
    const same = group(1, { heartbeat: () => Promise.reject(timeout) });
    await t.rejects(same.g.heartbeat({ interval: 0 }), timeout);
    t.same(same.lookups, ['g of 2']);
    t.same(
      [same.removed, same.disconnected],
      [[], []],
      'the pool left as it is (a change restarts the fetchers, which wait on a fetch to the cut broker)',
    );
    // No answer to the look-up either: the heartbeat's own timeout, as before.
    const none = group(1, { heartbeat: () => Promise.reject(timeout), named: new Error('no broker answered') });
    await t.rejects(none.g.heartbeat({ interval: 0 }), timeout);
  },
);

t.test('a heartbeat answered with an error, or refused, is what it was, with no look-up', async (t) => {
  const rebalancing = new KafkaJSProtocolError({ message: 'The group is rebalancing', type: 'REBALANCE_IN_PROGRESS', code: 27 });
  const answered = group(1, { heartbeat: () => Promise.reject(rebalancing), named: 2 });
  await t.rejects(answered.g.heartbeat({ interval: 0 }), rebalancing);
  const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: address(1) });
  const down = group(1, { heartbeat: () => Promise.reject(refused), named: 2 });
  await t.rejects(down.g.heartbeat({ interval: 0 }), refused);
  t.same([answered.lookups, down.lookups], [[], []]);
  t.same([answered.removed, down.removed, answered.disconnected, down.disconnected], [[], [], [], []], 'nothing removed or closed');
  const ok = group(1, { named: 2 });
  await t.resolves(ok.g.heartbeat({ interval: 0 }), 'an answer in time is an answer');
  t.same(ok.lookups, []);
});

/**
 * kafkajs' own producer/sendMessages.js and retrier over one partition whose leader, broker 3,
 * does not answer: the cluster has moved it to broker 1, which a metadata read tells.
 */
async function produceThroughSilentLeader() {
  const createSendMessages = require('kafkajs/src/producer/sendMessages');
  const createRetry = require('kafkajs/src/retry');
  const asked: number[] = [];
  const removed: { host: string; port: number }[] = [];
  const written: { broker: number; firstSequence: number }[] = [];
  let leader = 3;
  let metadataReads = 0;
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({ topicData }: { topicData: { partitions: { partition: number; firstSequence: number }[] }[] }) {
      asked.push(nodeId);
      if (nodeId === 3) throw timedOut('Produce(key: 0, version: 7)', 3);
      const partitions = topicData[0]?.partitions ?? [];
      for (const p of partitions) written.push({ broker: nodeId, firstSequence: p.firstSequence });
      return {
        topics: [{ topicName: 'emails', partitions: partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })) }],
      };
    },
  });
  const brokers: Record<number, ReturnType<typeof broker>> = { 1: broker(1), 3: broker(3) };
  const send = createSendMessages({
    logger,
    partitioner: () => 0,
    retrier: createRetry({ retries: 3, initialRetryTime: 5, maxRetryTime: 10 }),
    cluster: {
      refreshMetadataIfNecessary: async () => {},
      refreshMetadata: async () => {
        metadataReads++;
        // Read from a broker that answers: the partition has moved (the silent one is fenced).
        if (removed.length > 0) leader = 1;
      },
      removeBroker: (at: { host: string; port: number }) => removed.push(at),
      addMultipleTargetTopics: async () => {},
      isConnected: () => true,
      findTopicPartitionMetadata: () => [{ partitionId: 0, leader }],
      findLeaderForPartitions: (_topic: string, partitions: string[]) => ({ [leader]: partitions.map(Number) }),
      findBroker: async ({ nodeId }: { nodeId: string }) => brokers[Number(nodeId)],
    },
    eosManager: {
      isTransactional: () => false,
      getProducerId: () => 1,
      getProducerEpoch: () => 0,
      getSequence: () => 0,
      updateSequence: () => {},
      acquireBrokerLock: async () => {},
      releaseBrokerLock: async () => {},
    },
  });
  const result = send({ acks: -1, timeout: 5_000, topicMessages: [{ topic: 'emails', messages: [{ value: 'a' }] }] });
  return { result, asked, removed, written, metadataReads: () => metadataReads };
}

t.test("a produce that timed out takes its broker out of the pool and is retried to the partition's new leader", async (t) => {
  const { result, asked, removed, written, metadataReads } = await produceThroughSilentLeader();
  await t.resolves(result, 'acknowledged (unpatched: retried to the silent broker until the retries ran out)');
  t.same(asked, [3, 1], 'the silent leader asked once, then the new one');
  t.same(removed, [{ host: '127.0.0.1', port: 9094 }], 'the broker that did not answer, by its address');
  t.ok(metadataReads() >= 1, 'the metadata read again before the retry');
  t.same(
    written,
    [{ broker: 1, firstSequence: 0 }],
    'the same idempotent batch (sequence 0): a copy the old leader kept is a duplicate to the new one',
  );
});
