// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { COORDINATOR_TIMEOUT_PATCH_MARKER, FETCH_TIMEOUT_PATCH_MARKER } from '../src/kafkajs-patch.js';

// kafkajs' own ConsumerGroup, as installed here (patched by scripts/kafkajs-silent-broker-patch.mjs),
// over brokers and a cluster the test stands in for: what a fetch and a heartbeat that a broker did
// not answer lead to. e2e 26 (test/e2e/coordinator-loss.test.ts) is the same path against a real
// cluster whose broker freezes. Against kafkajs unpatched, 8 of the other 18 assertions fail (the
// timeouts are thrown as they came, nothing is removed, nothing is looked up).

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
  const lookups: string[] = [];
  const broker = (nodeId: number) => ({
    nodeId,
    connectionPool: { host: '127.0.0.1', port: 9091 + nodeId },
    disconnect: async () => {
      disconnected.push(nodeId);
    },
    heartbeat: options.heartbeat ?? (async () => {}),
  });
  const brokers = Object.fromEntries([1, 2, 3].map((id) => [id, broker(id)]));
  const cluster = {
    brokerPool: { brokers },
    removeBroker: (at: { host: string; port: number }) => removed.push(at),
    refreshMetadata: async () => {},
    findGroupCoordinatorMetadata: async ({ groupId }: { groupId: string }) => {
      lookups.push(groupId);
      const named = options.named ?? coordinatorId;
      if (named instanceof Error) throw named;
      return { coordinator: { nodeId: named } };
    },
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
    const { g, lookups } = group(1, { heartbeat: () => Promise.reject(timedOut('Heartbeat(key: 12, version: 3)', 1)), named: 2 });
    await t.rejects(g.heartbeat({ interval: 0 }), { name: 'KafkaJSProtocolError', type: 'NOT_COORDINATOR_FOR_GROUP' });
    t.same(lookups, ['g'], 'the coordinator looked up once, for this group');
  },
);

t.test(
  'a heartbeat that timed out, while the cluster names the same coordinator (a cut of this client alone), stays a timeout',
  async (t) => {
    const timeout = timedOut('Heartbeat(key: 12, version: 3)', 1);
    const same = group(1, { heartbeat: () => Promise.reject(timeout) });
    await t.rejects(same.g.heartbeat({ interval: 0 }), timeout);
    t.same(same.lookups, ['g']);
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
  const ok = group(1, { named: 2 });
  await t.resolves(ok.g.heartbeat({ interval: 0 }), 'an answer in time is an answer');
  t.same(ok.lookups, []);
});
