// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { STALLED_BROKER_PATCH_MARKER, STALLED_CONTROLLER_PATCH_MARKER } from '../src/kafkajs-patch.js';
import { kafkajsModule, patchFrom } from './helpers/kafkajs-source.js';

// kafkajs' own BrokerPool, as installed here and as kafkajs ships it: which broker it asks for what
// any broker can answer (the group coordinator's look-up, a metadata read) when one of them has a
// request long unanswered (scripts/kafkajs-stalled-broker-patch.mjs). e2e 27
// (test/e2e/network-partition.test.ts) is the same path in a real group, one broker cut off.

const require = createRequire(import.meta.url);
const STALLED_BROKER_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_BROKER_PATCH');
const STALLED_CONNECTED_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_CONNECTED_PATCH');
const STALLED_FIND_CONNECTED_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_FIND_CONNECTED_PATCH');
const STALLED_CONTROLLER_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_CONTROLLER_PATCH');
const DESCRIBE_CONFIGS_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'DESCRIBE_CONFIGS_PATCH');
const INIT_PRODUCER_ID_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'INIT_PRODUCER_ID_PATCH');

interface Pool {
  brokers: Record<string, object>;
  withBroker<T>(callback: (b: { nodeId: string }) => Promise<T>): Promise<T | null>;
  findConnectedBroker(): Promise<{ nodeId: string }>;
  findBroker(options: { nodeId: string }): Promise<object>;
}
type BrokerPool = new (options: object) => Pool;

const logger = { namespace: () => logger, debug() {}, info() {}, warn() {}, error() {} };

/** kafkajs' pool (every part of the patch undone for 'original') over brokers 1–3, each with requests in flight sent `ages` ms ago. */
function pool(
  version: 'installed' | 'original',
  inflight: Record<string, { apiName: string; age: number }[]>,
  /** Brokers with no connection yet (kafkajs connects one when it is first asked). */
  unconnected: string[] = [],
): Pool {
  const Pool = kafkajsModule<BrokerPool>('kafkajs/src/cluster/brokerPool.js', version, [
    STALLED_BROKER_PATCH,
    STALLED_CONNECTED_PATCH,
    STALLED_FIND_CONNECTED_PATCH,
  ]);
  const p = new Pool({ logger, retry: { retries: 0 }, connectionPoolBuilder: { build: async () => ({}) } });
  const now = Date.now();
  for (const nodeId of ['1', '2', '3']) {
    const requests = (inflight[nodeId] ?? []).map(({ apiName, age }) => ({ entry: { apiName }, sentAt: now - age }));
    p.brokers[nodeId] = {
      nodeId,
      isConnected: () => !unconnected.includes(nodeId),
      connectionPool: { pool: [{ requestQueue: { inflight: new Map(requests.map((r, i) => [i, r])) } }, {}] },
    };
  }
  p.findBroker = async ({ nodeId }) => p.brokers[nodeId]!;
  return p;
}

/** Which broker each of `n` look-ups asked first, counted by node id. */
async function firstAsked(p: Pool, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const nodeId = await p.withBroker(async ({ nodeId }) => nodeId);
    counts[nodeId!] = (counts[nodeId!] ?? 0) + 1;
    const connected = (await p.findConnectedBroker()).nodeId;
    counts[`connected ${connected}`] = (counts[`connected ${connected}`] ?? 0) + 1;
  }
  return counts;
}

t.test('the kafkajs installed here carries the stalled broker mend', async (t) => {
  t.match(readFileSync(require.resolve('kafkajs/src/cluster/brokerPool.js'), 'utf8'), STALLED_BROKER_PATCH_MARKER);
});

t.test('a broker with a fetch unanswered for 10 s is asked last, by the look-ups and the metadata reads alike', async (t) => {
  const counts = await firstAsked(pool('installed', { '1': [{ apiName: 'Fetch', age: 10_000 }] }), 60);
  t.notOk(counts['1'], `never asked first (${JSON.stringify(counts)})`);
  t.notOk(counts['connected 1'], 'nor read metadata from');
  t.ok(counts['2'] && counts['3'], 'the others still picked at random');
});

t.test('a request answered in time, or a join that waits for the group by design, does not count', async (t) => {
  const counts = await firstAsked(
    pool('installed', {
      '1': [{ apiName: 'Fetch', age: 50 }],
      '2': [
        { apiName: 'JoinGroup', age: 40_000 },
        { apiName: 'SyncGroup', age: 9_000 },
      ],
    }),
    90,
  );
  t.ok(counts['1'] && counts['2'] && counts['3'], `each asked first sometimes (${JSON.stringify(counts)})`);
});

t.test('every broker stalled: kafkajs picks among them as before', async (t) => {
  const old = { apiName: 'Metadata', age: 20_000 };
  const counts = await firstAsked(pool('installed', { '1': [old], '2': [old], '3': [old] }), 90);
  t.ok(counts['1'] && counts['2'] && counts['3'], JSON.stringify(counts));
});

t.test("kafkajs' own pool asks the stalled broker first a third of the time", async (t) => {
  const counts = await firstAsked(pool('original', { '1': [{ apiName: 'Fetch', age: 10_000 }] }), 90);
  t.ok((counts['1'] ?? 0) > 5, `asked first ${counts['1'] ?? 0} times of 90`);
});

t.test('a broker not connected yet is asked after the connected ones, and before a stalled one', async (t) => {
  const stalled = { '3': [{ apiName: 'Metadata', age: 10_000 }] };
  const counts = await firstAsked(pool('installed', stalled, ['1']), 60);
  t.same(counts, { '2': 60, 'connected 2': 60 }, 'the connected one that answers, every time');
  const noneConnected = await firstAsked(pool('installed', stalled, ['1', '2']), 60);
  t.ok(noneConnected['1'] && noneConnected['2'] && !noneConnected['3'], `then the unknown ones (${JSON.stringify(noneConnected)})`);
  // e2e 24: an admin client connected to its seed only, which was then cut off, read every metadata from it.
  t.ok(
    noneConnected['connected 1'] && noneConnected['connected 2'] && !noneConnected['connected 3'],
    'metadata is read from an unknown one too, not from the only connected broker, which is stalled',
  );
  const originalStalled = await firstAsked(pool('original', stalled, ['1', '2']), 30);
  t.equal(originalStalled['connected 3'], 30, "kafkajs' own reads metadata from the stalled broker every time");
  const original = await firstAsked(pool('original', {}, ['1']), 90);
  t.ok((original['1'] ?? 0) > 5, `kafkajs' own asks the unconnected one first ${original['1'] ?? 0} times of 90`);
});

t.test('a broker whose request timed out for another client of the process in the last minute is asked last', async (t) => {
  const timedOut = new Map([['127.0.0.1:9092', Date.now() - 5_000]]);
  (globalThis as Record<symbol, unknown>)[Symbol.for('postline.kafkajs.timedOut')] = timedOut;
  t.teardown(() => {
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('postline.kafkajs.timedOut')];
  });
  const p = pool('installed', {});
  for (const [nodeId, port] of [
    ['1', 9092],
    ['2', 9093],
    ['3', 9094],
  ] as const) {
    Object.assign((p.brokers[nodeId] as { connectionPool: object }).connectionPool, { host: '127.0.0.1', port });
  }
  const counts = await firstAsked(p, 60);
  t.notOk(counts['1'], `a new client, nothing in flight: never asked first (${JSON.stringify(counts)})`);
  timedOut.set('127.0.0.1:9092', Date.now() - 61_000);
  const later = await firstAsked(p, 60);
  t.ok(later['1'], 'a minute later, picked again');
});

interface Cluster {
  brokerPool: Pool & { metadata: object };
  findControllerBroker(): Promise<{ nodeId: string }>;
}
type ClusterClass = new (options: object) => Cluster;

/** kafkajs' Cluster (its controller pick patched, or as kafkajs ships it) over `p`, whose metadata names broker 1 the controller. */
function cluster(version: 'installed' | 'original', p: Pool): Cluster {
  const Cluster = kafkajsModule<ClusterClass>('kafkajs/src/cluster/index.js', version, STALLED_CONTROLLER_PATCH);
  const c = new Cluster({ logger, brokers: ['127.0.0.1:9092'], clientId: 'test', retry: { retries: 0 } });
  c.brokerPool = Object.assign(p, { metadata: { controllerId: 1 } });
  return c;
}

/** Which broker each of `n` controller look-ups picked, counted by node id. */
async function controllers(c: Cluster, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { nodeId } = await c.findControllerBroker();
    counts[nodeId] = (counts[nodeId] ?? 0) + 1;
  }
  return counts;
}

t.test('the metadata\'s "controller" with a request unanswered gives way to a broker that answers', async (t) => {
  t.match(readFileSync(require.resolve('kafkajs/src/cluster/index.js'), 'utf8'), STALLED_CONTROLLER_PATCH_MARKER);
  const stalled = { '1': [{ apiName: 'DescribeConfigs', age: 10_000 }] };
  const picked = await controllers(cluster('installed', pool('installed', stalled)), 60);
  t.notOk(picked['1'], `never the stalled controller (${JSON.stringify(picked)})`);
  t.equal((picked['2'] ?? 0) + (picked['3'] ?? 0), 60, 'one of the others');
  t.same(await controllers(cluster('installed', pool('installed', {})), 20), { '1': 20 }, 'a controller that answers stays the one');
  t.same(
    await controllers(cluster('installed', pool('installed', {}, ['1'])), 20),
    { '1': 20 },
    'one not connected yet stays the one too (with ZooKeeper, only it may answer)',
  );
  const every = { apiName: 'Metadata', age: 20_000 };
  t.same(
    await controllers(cluster('installed', pool('installed', { '1': [every], '2': [every], '3': [every] })), 20),
    { '1': 20 },
    'every broker stalled: the named one, as before',
  );
  t.same(await controllers(cluster('original', pool('installed', stalled)), 20), { '1': 20 }, "kafkajs' own: the stalled one, every time");
});

type CreateAdmin = (options: object) => { describeConfigs(request: object): Promise<unknown> };
type CreateEosManager = (options: object) => { initProducerId(): Promise<void> };

t.test("topics' configs and an idempotent producer's id are asked of the least loaded broker, not the named controller", async (t) => {
  const asked = async (version: 'installed' | 'original') => {
    const requests: string[] = [];
    const broker = (nodeId: string) => ({
      nodeId,
      describeConfigs: async () => {
        requests.push(`DescribeConfigs ${nodeId}`);
        return { resources: [] };
      },
      initProducerId: async () => {
        requests.push(`InitProducerId ${nodeId}`);
        return { producerId: 1, producerEpoch: 0 };
      },
    });
    // The metadata names broker 1 the controller (on KRaft, a random one); the least loaded pick is 2.
    const cluster = {
      retry: { retries: 0 },
      refreshMetadata: async () => {},
      refreshMetadataIfNecessary: async () => {},
      findControllerBroker: async () => broker('1'),
      brokerPool: { findConnectedBroker: async () => broker('2') },
      findBroker: async ({ nodeId }: { nodeId: string }) => broker(nodeId),
    };
    const admin = kafkajsModule<CreateAdmin>(
      'kafkajs/src/admin/index.js',
      version,
      DESCRIBE_CONFIGS_PATCH,
    )({
      logger,
      retry: { retries: 0 },
      cluster,
    });
    await admin.describeConfigs({
      resources: [
        { type: 2, name: 'postline.emails' },
        { type: 4, name: '3' },
      ],
    });
    const eos = kafkajsModule<CreateEosManager>('kafkajs/src/producer/eosManager/index.js', version, INIT_PRODUCER_ID_PATCH);
    await eos({ logger, cluster, transactional: false }).initProducerId();
    return requests.sort();
  };
  t.same(
    await asked('installed'),
    ['DescribeConfigs 2', 'DescribeConfigs 3', 'InitProducerId 2'],
    "the topic's configs and the producer id from the least loaded broker; a broker's own configs still from it",
  );
  t.same(await asked('original'), ['DescribeConfigs 1', 'DescribeConfigs 3', 'InitProducerId 1'], "kafkajs' own: the controller");
});
