// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { HANDSHAKE_TIMEOUT_PATCH_MARKER, SEED_TIMEOUT_PATCH_MARKER } from '../src/kafkajs-patch.js';
import { kafkajsModule, patchFrom } from './helpers/kafkajs-source.js';

// kafkajs' own BrokerPool and RequestQueue, as installed here and as kafkajs ships them: connecting
// through a first seed broker that takes the connection and answers nothing
// (scripts/kafkajs-seed-broker-patch.mjs).
// e2e 27 (test/e2e/network-partition.test.ts) starts a mailer while the first broker of its list is
// cut off.

const require = createRequire(import.meta.url);
const { KafkaJSRequestTimeoutError } = require('kafkajs/src/errors.js') as {
  KafkaJSRequestTimeoutError: new (message: string, details: { broker: string }) => Error;
};
const SEED_TIMEOUT_PATCH = await patchFrom('kafkajs-seed-broker-patch.mjs', 'SEED_TIMEOUT_PATCH');
const HANDSHAKE_TIMEOUT_PATCH = await patchFrom('kafkajs-seed-broker-patch.mjs', 'HANDSHAKE_TIMEOUT_PATCH');

interface Pool {
  createBroker: (options: { connectionPool: { port: number } }) => object;
  connect(): Promise<void>;
  seedBroker: { connectionPool: { port: number } };
}
type BrokerPool = new (options: object) => Pool;

const logger = { namespace: () => logger, debug() {}, info() {}, warn() {}, error() {} };

/**
 * Connects a pool whose seeds come in the order `ports` (9092 is silent: its ApiVersions times out),
 * as postline's list in a new order for each pick does; says which seeds were tried.
 */
async function connect(version: 'installed' | 'original', ports = [9092, 9093]) {
  const Pool = kafkajsModule<BrokerPool>('kafkajs/src/cluster/brokerPool.js', version, SEED_TIMEOUT_PATCH);
  let next = 0;
  const tried: number[] = [];
  const pool = new Pool({
    logger,
    retry: { retries: 3, initialRetryTime: 1, maxRetryTime: 5 },
    connectionPoolBuilder: { build: async () => ({ host: '127.0.0.1', port: ports[next++ % ports.length] }) },
  });
  pool.createBroker = ({ connectionPool }) => {
    let connected = false;
    return {
      connectionPool,
      versions: { 18: { minVersion: 0, maxVersion: 3 } },
      isConnected: () => connected,
      disconnect: async () => {},
      connect: async () => {
        tried.push(connectionPool.port);
        if (connectionPool.port === 9092) {
          throw new KafkaJSRequestTimeoutError('Request ApiVersions(key: 18, version: 2) timed out', { broker: '127.0.0.1:9092' });
        }
        connected = true;
      },
    };
  };
  const outcome = await pool.connect().then(
    () => 'connected',
    (e: Error) => `failed: ${e.name}`,
  );
  return { outcome, tried, seed: pool.seedBroker.connectionPool.port };
}

t.test('the kafkajs installed here carries the seed broker mends', async (t) => {
  t.match(readFileSync(require.resolve('kafkajs/src/cluster/brokerPool.js'), 'utf8'), SEED_TIMEOUT_PATCH_MARKER);
  t.match(readFileSync(require.resolve('kafkajs/src/network/requestQueue/index.js'), 'utf8'), HANDSHAKE_TIMEOUT_PATCH_MARKER);
});

t.test('a first seed broker that times out is passed over for the next one', async (t) => {
  const { outcome, tried, seed } = await connect('installed');
  t.equal(outcome, 'connected');
  t.same(tried, [9092, 9093], 'the silent one once, then the next');
  t.equal(seed, 9093);
});

t.test('the next pick is the silent seed again: it is passed over without being asked', async (t) => {
  const { outcome, tried } = await connect('installed', [9092, 9092, 9092, 9093]);
  t.equal(outcome, 'connected');
  t.same(tried, [9092, 9093]);
});

t.test('a seed whose request timed out for another client of the process in the last minute is not picked first', async (t) => {
  (globalThis as Record<symbol, unknown>)[Symbol.for('postline.kafkajs.timedOut')] = new Map([['127.0.0.1:9092', Date.now()]]);
  t.teardown(() => {
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('postline.kafkajs.timedOut')];
  });
  const { outcome, tried } = await connect('installed', [9092, 9093]);
  t.equal(outcome, 'connected');
  t.same(tried, [9093], 'the silent one not asked at all');
});

t.test("kafkajs' own pool asks the silent seed again until its retries run out", async (t) => {
  const { outcome, tried } = await connect('original');
  t.equal(outcome, 'failed: KafkaJSNumberOfRetriesExceeded');
  t.same(tried, [9092, 9092, 9092, 9092], 'never the next broker');
});

type RequestQueue = new (
  options: object,
) => {
  createSocketRequest(pushed: { entry: object; expectResponse: boolean; sendRequest(): void; requestTimeout?: number }): {
    requestTimeout: number;
  };
  destroy(): void;
};

/** The timeout kafkajs' request queue gives a request of `apiName` that asks for `requestTimeout`, under a 30 s default. */
function timeoutOf(version: 'installed' | 'original', apiName: string, requestTimeout: number): number {
  const Queue = kafkajsModule<RequestQueue>('kafkajs/src/network/requestQueue/index.js', version, HANDSHAKE_TIMEOUT_PATCH);
  const queue = new Queue({
    instrumentationEmitter: null,
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: true,
    clientId: 'c',
    broker: 'b:1',
    logger,
    isConnected: () => true,
  });
  try {
    const entry = { apiKey: 0, apiName, apiVersion: 0, correlationId: 1, resolve() {}, reject() {} };
    return queue.createSocketRequest({ entry, expectResponse: true, sendRequest() {}, requestTimeout }).requestTimeout;
  } finally {
    queue.destroy();
  }
}

t.test(
  'the handshake (ApiVersions) times out after connectionTimeout, as kafkajs asks; every other request keeps the larger of the two',
  async (t) => {
    t.equal(timeoutOf('installed', 'ApiVersions', 3_000), 3_000);
    t.equal(timeoutOf('installed', 'Fetch', 3_000), 30_000);
    t.equal(timeoutOf('installed', 'JoinGroup', 90_000), 90_000);
    t.equal(timeoutOf('original', 'ApiVersions', 3_000), 30_000, "kafkajs' own queue gave the handshake 30 s");
  },
);
