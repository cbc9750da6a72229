// test-plan: standalone

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import {
  ANY_BROKER_PATCH_MARKER,
  COORDINATOR_TIMEOUT_PATCH_MARKER,
  FETCH_MANAGER_PATCH_MARKER,
  FETCH_TIMEOUT_PATCH_MARKER,
  FETCHER_STOP_PATCH_MARKER,
  HANDSHAKE_TIMEOUT_PATCH_MARKER,
  HEARTBEAT_PATCH_MARKER,
  KAFKAJS_PATCH_MARKER,
  kafkajsPatched,
  PRODUCE_TIMEOUT_PATCH_MARKER,
  RESOLVE_OFFSETS_PATCH_MARKER,
  SEED_TIMEOUT_PATCH_MARKER,
  STALLED_BROKER_PATCH_MARKER,
  STALLED_CONTROLLER_PATCH_MARKER,
  STALLED_FIND_CONNECTED_PATCH_MARKER,
  warnUnlessKafkajsPatched,
} from '../src/kafkajs-patch.js';
import type { LogSink } from '../src/logger.js';
import { patchFrom } from './helpers/kafkajs-source.js';

const require = createRequire(import.meta.url);
const repoRoot = join(import.meta.dirname, '../../..');
const script = (await import(pathToFileURL(join(repoRoot, 'scripts/patch-kafkajs.mjs')).href)) as {
  KAFKAJS_PATCH_MARKER: string;
  CRC_PATCH_MARKER: string;
  ENCODER_PATCH_MARKER: string;
  RECORD_BATCH_PATCH_MARKER: string;
  FETCH_MANAGER_PATCH_MARKER: string;
  HEARTBEAT_PATCH_MARKER: string;
  FETCH_TIMEOUT_PATCH_MARKER: string;
  COORDINATOR_TIMEOUT_PATCH_MARKER: string;
  PRODUCE_TIMEOUT_PATCH_MARKER: string;
  FETCHER_STOP_PATCH_MARKER: string;
  SEED_TIMEOUT_PATCH_MARKER: string;
  HANDSHAKE_TIMEOUT_PATCH_MARKER: string;
  STALLED_BROKER_PATCH_MARKER: string;
  STALLED_FIND_CONNECTED_PATCH_MARKER: string;
  STALLED_CONTROLLER_PATCH_MARKER: string;
  ANY_BROKER_PATCH_MARKER: string;
  RESOLVE_OFFSETS_PATCH_MARKER: string;
  patchKafkajs(root: string): { file: string; state: 'patched' | 'already' }[];
};

t.test('the kafkajs installed here carries the mend, under the marker the services look for', async (t) => {
  t.equal(script.KAFKAJS_PATCH_MARKER, KAFKAJS_PATCH_MARKER);
  t.equal(script.FETCH_MANAGER_PATCH_MARKER, FETCH_MANAGER_PATCH_MARKER);
  t.equal(script.HEARTBEAT_PATCH_MARKER, HEARTBEAT_PATCH_MARKER);
  t.equal(script.FETCH_TIMEOUT_PATCH_MARKER, FETCH_TIMEOUT_PATCH_MARKER);
  t.equal(script.COORDINATOR_TIMEOUT_PATCH_MARKER, COORDINATOR_TIMEOUT_PATCH_MARKER);
  t.equal(script.PRODUCE_TIMEOUT_PATCH_MARKER, PRODUCE_TIMEOUT_PATCH_MARKER);
  t.equal(script.FETCHER_STOP_PATCH_MARKER, FETCHER_STOP_PATCH_MARKER);
  t.equal(script.SEED_TIMEOUT_PATCH_MARKER, SEED_TIMEOUT_PATCH_MARKER);
  t.equal(script.HANDSHAKE_TIMEOUT_PATCH_MARKER, HANDSHAKE_TIMEOUT_PATCH_MARKER);
  t.equal(script.STALLED_BROKER_PATCH_MARKER, STALLED_BROKER_PATCH_MARKER);
  t.equal(script.STALLED_FIND_CONNECTED_PATCH_MARKER, STALLED_FIND_CONNECTED_PATCH_MARKER);
  t.equal(script.STALLED_CONTROLLER_PATCH_MARKER, STALLED_CONTROLLER_PATCH_MARKER);
  t.equal(script.ANY_BROKER_PATCH_MARKER, ANY_BROKER_PATCH_MARKER);
  t.equal(script.RESOLVE_OFFSETS_PATCH_MARKER, RESOLVE_OFFSETS_PATCH_MARKER);
  t.ok(kafkajsPatched(), 'npm install ran scripts/patch-kafkajs.mjs');
});

t.test("kafkajs' record batches get their CRC-32C from native code, the same number its JavaScript gives", async (t) => {
  const crcFile = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
  t.match(readFileSync(crcFile, 'utf8'), script.CRC_PATCH_MARKER, 'the installed copy is patched');
  const crc = require(crcFile) as (buffer: Buffer) => number;
  const javascript = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (buffer: Buffer) => number;
  t.notOk(crc.toString().includes('unsigned'), 'the native function is the one in use');
  // RFC 3720's check value for CRC-32C.
  t.equal(crc(Buffer.from('123456789')), 0xe3069283);
  let differ = 0;
  for (const size of [0, 1, 7, 8, 9, 63, 64, 65, 1000, 65_537, 1_048_576]) {
    for (let i = 0; i < 5; i++) {
      const buffer = randomBytes(size);
      if (crc(buffer) !== javascript(buffer) >>> 0) differ++;
    }
  }
  t.equal(differ, 0, '55 random buffers of 0 B to 1 MiB: the same checksum');
});

interface Produced {
  broker: number;
  partition: number;
  firstSequence: number;
}

/**
 * kafkajs' own producer/sendMessages.js, driven through the two-broker race that wrote a record
 * twice: broker 1 refuses its partition at once (NOT_LEADER_FOR_PARTITION, retriable) while
 * broker 0's request is still waiting for its acks. The cluster, the brokers and the sequence
 * bookkeeping are fakes shaped like kafkajs' own; the send logic and the retrier are the real ones.
 */
async function raceTwoBrokers(): Promise<{ produced: Produced[]; acked: number[] }> {
  const createSendMessages = require('kafkajs/src/producer/sendMessages');
  const createRetry = require('kafkajs/src/retry');
  const { createErrorFromCode } = require('kafkajs/src/protocol/error');
  const produced: Produced[] = [];
  const sequences = new Map<number, number>();
  const locks = new Map<object, Promise<void>>();
  const releases = new Map<object, () => void>();
  let refusals = 1;
  const broker = (nodeId: number, delayMs: number) => ({
    nodeId,
    async produce({ topicData }: { topicData: { partitions: { partition: number; firstSequence: number }[] }[] }) {
      await new Promise((r) => setTimeout(r, delayMs));
      const partitions = topicData[0]?.partitions ?? [];
      if (nodeId === 1 && refusals-- > 0) throw createErrorFromCode(6);
      for (const p of partitions) produced.push({ broker: nodeId, partition: p.partition, firstSequence: p.firstSequence });
      return {
        topics: [{ topicName: 'emails', partitions: partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })) }],
      };
    },
  });
  const brokers = [broker(0, 300), broker(1, 5)];
  const send = createSendMessages({
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    partitioner: ({ message }: { message: { partition: number } }) => message.partition,
    retrier: createRetry({ retries: 5, initialRetryTime: 20, maxRetryTime: 50 }),
    cluster: {
      refreshMetadataIfNecessary: async () => {},
      refreshMetadata: async () => {},
      addMultipleTargetTopics: async () => {},
      isConnected: () => true,
      findTopicPartitionMetadata: () => [
        { partitionId: 0, leader: 0 },
        { partitionId: 1, leader: 1 },
      ],
      // Partition n is led by broker n.
      findLeaderForPartitions: (_topic: string, partitions: string[]) => Object.fromEntries(partitions.map((p) => [p, [Number(p)]])),
      findBroker: async ({ nodeId }: { nodeId: string }) => brokers[Number(nodeId)],
    },
    eosManager: {
      isTransactional: () => false,
      getProducerId: () => 1,
      getProducerEpoch: () => 0,
      getSequence: (_topic: string, p: number) => sequences.get(p) ?? 0,
      updateSequence: (_topic: string, p: number, n: number) => sequences.set(p, (sequences.get(p) ?? 0) + n),
      async acquireBrokerLock(b: object) {
        while (locks.has(b)) await locks.get(b);
        locks.set(b, new Promise<void>((r) => releases.set(b, r)));
      },
      async releaseBrokerLock(b: object) {
        locks.delete(b);
        releases.get(b)?.();
      },
    },
  });
  const result: { partition: number }[] = await send({
    acks: -1,
    timeout: 5_000,
    topicMessages: [
      {
        topic: 'emails',
        messages: [
          { partition: 0, value: 'a' },
          { partition: 1, value: 'b' },
        ],
      },
    ],
  });
  return { produced, acked: result.map((r) => r.partition).sort() };
}

t.test('a retry waits for every broker request in flight, so none is sent twice', async (t) => {
  const { produced, acked } = await raceTwoBrokers();
  t.same(acked, [0, 1], 'both partitions acknowledged');
  t.same(
    produced.filter((p) => p.partition === 0),
    [{ broker: 0, partition: 0, firstSequence: 0 }],
    'broker 0 wrote its record once (unpatched: again, under sequence 1, a record the broker would keep)',
  );
  t.same(
    produced.filter((p) => p.partition === 1),
    [{ broker: 1, partition: 1, firstSequence: 0 }],
    "the refused partition went again under its rolled-back sequence (a duplicate of it is the broker's to drop)",
  );
});

/** kafkajs 2.2.4's CRC-32C entry, as the script finds it. */
const CRC_ORIGINAL = `const crc32C = require('./crc32C')
const unsigned = value => Uint32Array.from([value])[0]

module.exports = buffer => unsigned(crc32C(buffer))
`;

/** The end of kafkajs 2.2.4's encoder.js, where the script adds its part. */
const ENCODER_END = `  toJSON() {
    return this.buffer.toJSON()
  }
}
`;

/** The end of kafkajs 2.2.4's RecordBatch, which the script replaces. */
const RECORD_BATCH_END = `  const batch = new Encoder()
    .writeInt32(partitionLeaderEpoch)
    .writeInt8(MAGIC_BYTE)
    .writeUInt32(crc32C(batchBody.buffer))
    .writeEncoder(batchBody)

  return new Encoder().writeInt64(firstOffset).writeBytes(batch.buffer)
}
`;

// kafkajs 2.2.4's texts, as the scripts find them: the fetch manager's start and stop, the fetcher's,
// the broker pool's seed connect and broker picks, the request queue's, the consumer group's and
// offset manager's offset resolution, the runner's heartbeat and eachBatch's, the consumer group's
// heartbeat and the end of recoverFromFetch, and the start of sendMessages' catch.
const FETCH_MANAGER_PATCH = await patchFrom('kafkajs-fetch-manager-patch.mjs', 'FETCH_MANAGER_PATCH');
const FETCHER_STOP_PATCH = await patchFrom('kafkajs-fetcher-stop-patch.mjs', 'FETCHER_STOP_PATCH');
const FETCHER_FETCH_PATCH = await patchFrom('kafkajs-fetcher-stop-patch.mjs', 'FETCHER_FETCH_PATCH');
const SEED_TIMEOUT_PATCH = await patchFrom('kafkajs-seed-broker-patch.mjs', 'SEED_TIMEOUT_PATCH');
const HANDSHAKE_TIMEOUT_PATCH = await patchFrom('kafkajs-seed-broker-patch.mjs', 'HANDSHAKE_TIMEOUT_PATCH');
const STALLED_BROKER_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_BROKER_PATCH');
const STALLED_CONNECTED_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_CONNECTED_PATCH');
const STALLED_FIND_CONNECTED_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_FIND_CONNECTED_PATCH');
const STALLED_TIMEOUT_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_TIMEOUT_PATCH');
const STALLED_CONTROLLER_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'STALLED_CONTROLLER_PATCH');
const DESCRIBE_CONFIGS_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'DESCRIBE_CONFIGS_PATCH');
const INIT_PRODUCER_ID_PATCH = await patchFrom('kafkajs-stalled-broker-patch.mjs', 'INIT_PRODUCER_ID_PATCH');
const RESOLVE_OFFSETS_SEEK_PATCH = await patchFrom('kafkajs-resolve-offsets-patch.mjs', 'RESOLVE_OFFSETS_SEEK_PATCH');
const RESOLVE_OFFSETS_PATCH = await patchFrom('kafkajs-resolve-offsets-patch.mjs', 'RESOLVE_OFFSETS_PATCH');
const HEARTBEAT_PATCH = await patchFrom('kafkajs-heartbeat-patch.mjs', 'HEARTBEAT_PATCH');
const HEARTBEAT_PAYLOAD_PATCH = await patchFrom('kafkajs-heartbeat-patch.mjs', 'HEARTBEAT_PAYLOAD_PATCH');
const FETCH_TIMEOUT_PATCH = await patchFrom('kafkajs-silent-broker-patch.mjs', 'FETCH_TIMEOUT_PATCH');
const COORDINATOR_TIMEOUT_PATCH = await patchFrom('kafkajs-silent-broker-patch.mjs', 'COORDINATOR_TIMEOUT_PATCH');
const PRODUCE_TIMEOUT_PATCH = await patchFrom('kafkajs-silent-broker-patch.mjs', 'PRODUCE_TIMEOUT_PATCH');

/**
 * A project folder holding a kafkajs 2.2.4 of the files the script patches, removed after the test:
 * sendMessages.js (`file`, which each test writes), the CRC-32C entry, the encoder's end, the
 * record batch's and the fetch manager's start and stop.
 */
function fakeInstall(t: Test): {
  root: string;
  file: string;
  crcFile: string;
  encoderFile: string;
  batchFile: string;
  fetchManagerFile: string;
  runnerFile: string;
  consumerGroupFile: string;
  fetcherFile: string;
  brokerPoolFile: string;
  requestQueueFile: string;
  offsetManagerFile: string;
  clusterFile: string;
  adminFile: string;
  eosFile: string;
} {
  const root = mkdtempSync(join(tmpdir(), 'postline-kafkajs-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'node_modules/kafkajs');
  mkdirSync(join(dir, 'src/producer'), { recursive: true });
  mkdirSync(join(dir, 'src/protocol/recordBatch/crc32C'), { recursive: true });
  mkdirSync(join(dir, 'src/protocol/recordBatch/v0'), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'x', workspaces: [] }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'kafkajs', version: '2.2.4', main: 'index.js' }));
  const crcFile = join(dir, 'src/protocol/recordBatch/crc32C/index.js');
  writeFileSync(crcFile, CRC_ORIGINAL);
  const encoderFile = join(dir, 'src/protocol/encoder.js');
  writeFileSync(encoderFile, `module.exports = class Encoder {\n${ENCODER_END}`);
  const batchFile = join(dir, 'src/protocol/recordBatch/v0/index.js');
  writeFileSync(batchFile, `const RecordBatch = async () => {\n${RECORD_BATCH_END}\nmodule.exports = { RecordBatch }\n`);
  mkdirSync(join(dir, 'src/consumer'), { recursive: true });
  const fetchManagerFile = join(dir, 'src/consumer/fetchManager.js');
  writeFileSync(fetchManagerFile, `const createFetchManager = () => {\n${FETCH_MANAGER_PATCH.original}}\n`);
  const runnerFile = join(dir, 'src/consumer/runner.js');
  writeFileSync(
    runnerFile,
    `class Runner {\n${HEARTBEAT_PATCH.original}\n  payload() {\n    return {\n${HEARTBEAT_PAYLOAD_PATCH.original}\n    }\n  }\n}\n`,
  );
  const consumerGroupFile = join(dir, 'src/consumer/consumerGroup.js');
  writeFileSync(
    consumerGroupFile,
    `class ConsumerGroup {\n  heartbeat() {\n${COORDINATOR_TIMEOUT_PATCH.original}  }\n\n  async recoverFromFetch(e) {\n${FETCH_TIMEOUT_PATCH.original}}\n\n  async seekOffsets(topicPartitions) {\n    for (;;) {\n      {\n${RESOLVE_OFFSETS_SEEK_PATCH.original}  }\n}\n`,
  );
  const fetcherFile = join(dir, 'src/consumer/fetcher.js');
  writeFileSync(
    fetcherFile,
    `const createFetcher = () => {\n  const start = async () => {\n    while (isRunning) {\n      try {\n${FETCHER_FETCH_PATCH.original}      } catch {}\n    }\n  }\n\n${FETCHER_STOP_PATCH.original}\n  return { start, stop }\n}\n`,
  );
  mkdirSync(join(dir, 'src/cluster'), { recursive: true });
  const brokerPoolFile = join(dir, 'src/cluster/brokerPool.js');
  writeFileSync(
    brokerPoolFile,
    `class BrokerPool {\n  async connect() {\n${SEED_TIMEOUT_PATCH.original}      }\n    })\n  }\n\n${STALLED_BROKER_PATCH.original}  }\n\n  async findConnectedBroker() {\n${STALLED_CONNECTED_PATCH.original}${STALLED_FIND_CONNECTED_PATCH.original}  }\n}\n`,
  );
  mkdirSync(join(dir, 'src/network/requestQueue'), { recursive: true });
  const requestQueueFile = join(dir, 'src/network/requestQueue/index.js');
  writeFileSync(
    requestQueueFile,
    `class RequestQueue {\n  check() {\n${STALLED_TIMEOUT_PATCH.original}          }\n  }\n\n  createSocketRequest(pushedRequest) {\n${HANDSHAKE_TIMEOUT_PATCH.original}  }\n}\n`,
  );
  mkdirSync(join(dir, 'src/consumer/offsetManager'), { recursive: true });
  const offsetManagerFile = join(dir, 'src/consumer/offsetManager/index.js');
  writeFileSync(offsetManagerFile, `class OffsetManager {\n${RESOLVE_OFFSETS_PATCH.original}  }\n}\n`);
  const clusterFile = join(dir, 'src/cluster/index.js');
  writeFileSync(clusterFile, `class Cluster {\n  async findControllerBroker() {\n${STALLED_CONTROLLER_PATCH.original}  }\n}\n`);
  mkdirSync(join(dir, 'src/admin'), { recursive: true });
  const adminFile = join(dir, 'src/admin/index.js');
  writeFileSync(adminFile, `const describeConfigs = async () => {\n${DESCRIBE_CONFIGS_PATCH.original}  }\n}\n`);
  mkdirSync(join(dir, 'src/producer/eosManager'), { recursive: true });
  const eosFile = join(dir, 'src/producer/eosManager/index.js');
  writeFileSync(eosFile, `const initProducerId = async () => {\n${INIT_PRODUCER_ID_PATCH.original}}\n`);
  return {
    root,
    file: join(dir, 'src/producer/sendMessages.js'),
    crcFile,
    encoderFile,
    batchFile,
    fetchManagerFile,
    runnerFile,
    consumerGroupFile,
    fetcherFile,
    brokerPoolFile,
    requestQueueFile,
    offsetManagerFile,
    clusterFile,
    adminFile,
    eosFile,
  };
}

t.test('the script patches a copy once, and refuses a text it was not written for', async (t) => {
  const {
    root,
    file,
    crcFile,
    encoderFile,
    batchFile,
    fetchManagerFile,
    runnerFile,
    consumerGroupFile,
    fetcherFile,
    brokerPoolFile,
    requestQueueFile,
    offsetManagerFile,
    clusterFile,
    adminFile,
    eosFile,
  } = fakeInstall(t);
  // The lines of kafkajs 2.2.4 the patch replaces, in a file of their own.
  const original = [
    'try {',
    '        const requests = await createProducerRequests(responsePerBroker)',
    '        await Promise.all(requests)',
    '        return Array.from(responsePerBroker.values()).flat()',
    PRODUCE_TIMEOUT_PATCH.original,
  ].join('\n');
  writeFileSync(file, original);

  t.same(script.patchKafkajs(root), [
    { file, state: 'patched' },
    { file: crcFile, state: 'patched' },
    { file: encoderFile, state: 'patched' },
    { file: batchFile, state: 'patched' },
    { file: fetchManagerFile, state: 'patched' },
    { file: runnerFile, state: 'patched' },
    { file: runnerFile, state: 'patched' },
    { file: consumerGroupFile, state: 'patched' },
    { file: consumerGroupFile, state: 'patched' },
    { file, state: 'patched' },
    { file: fetcherFile, state: 'patched' },
    { file: fetcherFile, state: 'patched' },
    { file: brokerPoolFile, state: 'patched' },
    { file: requestQueueFile, state: 'patched' },
    { file: brokerPoolFile, state: 'patched' },
    { file: brokerPoolFile, state: 'patched' },
    { file: requestQueueFile, state: 'patched' },
    { file: consumerGroupFile, state: 'patched' },
    { file: offsetManagerFile, state: 'patched' },
    { file: clusterFile, state: 'patched' },
    { file: adminFile, state: 'patched' },
    { file: eosFile, state: 'patched' },
    { file: brokerPoolFile, state: 'patched' },
  ]);
  const patched = readFileSync(file, 'utf8');
  t.match(patched, KAFKAJS_PATCH_MARKER);
  t.match(patched, 'await Promise.allSettled(requests)');
  t.notMatch(patched, 'await Promise.all(requests)');
  t.match(patched, PRODUCE_TIMEOUT_PATCH_MARKER, "both of the producer's patches, one after the other");
  const crcPatched = readFileSync(crcFile, 'utf8');
  t.match(crcPatched, script.CRC_PATCH_MARKER);
  t.match(crcPatched, "require('@node-rs/crc32').crc32c");
  const encoderPatched = readFileSync(encoderFile, 'utf8');
  t.match(encoderPatched, script.ENCODER_PATCH_MARKER);
  t.ok(encoderPatched.startsWith(`module.exports = class Encoder {\n${ENCODER_END}`), "kafkajs' class is kept, the part added after it");
  const batchPatched = readFileSync(batchFile, 'utf8');
  t.match(batchPatched, script.RECORD_BATCH_PATCH_MARKER);
  t.notMatch(batchPatched, '.writeBytes(batch.buffer)', 'the batch is no longer joined to be written');
  t.ok(batchPatched.endsWith('\nmodule.exports = { RecordBatch }\n'), 'the rest of the file is kept');
  const fetchManagerPatched = readFileSync(fetchManagerFile, 'utf8');
  t.match(fetchManagerPatched, script.FETCH_MANAGER_PATCH_MARKER);
  t.match(fetchManagerPatched, 'if (stopped) break', 'a rebalance after a stop ends start()');
  const runnerPatched = readFileSync(runnerFile, 'utf8');
  t.match(runnerPatched, HEARTBEAT_PATCH_MARKER);
  t.match(runnerPatched, 'heartbeat: () => this.heartbeat(false)', "both of the runner's patches, one after the other");
  const consumerGroupPatched = readFileSync(consumerGroupFile, 'utf8');
  t.match(consumerGroupPatched, FETCH_TIMEOUT_PATCH_MARKER);
  t.match(consumerGroupPatched, COORDINATOR_TIMEOUT_PATCH_MARKER, 'both of the consumer group patches');
  t.match(consumerGroupPatched, 'findGroupCoordinatorMetadata', 'a heartbeat that timed out looks the coordinator up');
  t.match(consumerGroupPatched, 'await this.offsetManager.resolveOffsets(topicPartitions)', 'the third consumer group patch');
  const offsetManagerPatched = readFileSync(offsetManagerFile, 'utf8');
  t.match(offsetManagerPatched, script.RESOLVE_OFFSETS_PATCH_MARKER);
  const clusterPatched = readFileSync(clusterFile, 'utf8');
  t.match(clusterPatched, script.STALLED_CONTROLLER_PATCH_MARKER);
  t.match(clusterPatched, 'this.brokerPool.answeringFirst([named', 'a stalled controller gives way');
  const adminPatched = readFileSync(adminFile, 'utf8');
  t.match(adminPatched, script.ANY_BROKER_PATCH_MARKER);
  t.match(adminPatched, 'const controller = await cluster.brokerPool.findConnectedBroker()', "topics' configs from any broker");
  const eosPatched = readFileSync(eosFile, 'utf8');
  t.match(eosPatched, ': cluster.brokerPool.findConnectedBroker())', 'a producer id from any broker');
  const fetcherPatched = readFileSync(fetcherFile, 'utf8');
  t.match(fetcherPatched, script.FETCHER_STOP_PATCH_MARKER);
  t.match(fetcherPatched, 'abandonFetch && abandonFetch()', 'a stop gives up on a fetch in flight after a while');
  t.match(fetcherPatched, 'abandonFetch = () => {', "the fetcher's two patches: the fetch can be given up on");
  t.ok(fetcherPatched.endsWith('\n  return { start, stop }\n}\n'), 'the rest of the file is kept');
  const brokerPoolPatched = readFileSync(brokerPoolFile, 'utf8');
  t.match(brokerPoolPatched, script.SEED_TIMEOUT_PATCH_MARKER);
  t.match(brokerPoolPatched, "e.name === 'KafkaJSRequestTimeoutError'", 'a seed that timed out is passed over');
  t.match(brokerPoolPatched, script.STALLED_BROKER_PATCH_MARKER, "the broker pool's three patches, one after the other");
  t.match(brokerPoolPatched, 'const nodeIds = this.answeringFirst(shuffle(keys(this.brokers)))');
  t.match(brokerPoolPatched, script.STALLED_FIND_CONNECTED_PATCH_MARKER, "findConnectedBroker's half");
  const requestQueuePatched = readFileSync(requestQueueFile, 'utf8');
  t.match(requestQueuePatched, script.HANDSHAKE_TIMEOUT_PATCH_MARKER);
  t.match(requestQueuePatched, 'timedOut.set(this.broker, Date.now())', "the request queue's two patches");
  t.same(
    script.patchKafkajs(root),
    [
      { file, state: 'already' },
      { file: crcFile, state: 'already' },
      { file: encoderFile, state: 'already' },
      { file: batchFile, state: 'already' },
      { file: fetchManagerFile, state: 'already' },
      { file: runnerFile, state: 'already' },
      { file: runnerFile, state: 'already' },
      { file: consumerGroupFile, state: 'already' },
      { file: consumerGroupFile, state: 'already' },
      { file, state: 'already' },
      { file: fetcherFile, state: 'already' },
      { file: fetcherFile, state: 'already' },
      { file: brokerPoolFile, state: 'already' },
      { file: requestQueueFile, state: 'already' },
      { file: brokerPoolFile, state: 'already' },
      { file: brokerPoolFile, state: 'already' },
      { file: requestQueueFile, state: 'already' },
      { file: consumerGroupFile, state: 'already' },
      { file: offsetManagerFile, state: 'already' },
      { file: clusterFile, state: 'already' },
      { file: adminFile, state: 'already' },
      { file: eosFile, state: 'already' },
      { file: brokerPoolFile, state: 'already' },
    ],
    'a second run changes nothing',
  );
  t.equal(readFileSync(file, 'utf8'), patched);
  t.equal(readFileSync(crcFile, 'utf8'), crcPatched);
  t.equal(readFileSync(encoderFile, 'utf8'), encoderPatched);
  t.equal(readFileSync(batchFile, 'utf8'), batchPatched);
  t.equal(readFileSync(fetchManagerFile, 'utf8'), fetchManagerPatched);
  t.equal(readFileSync(runnerFile, 'utf8'), runnerPatched);
  t.equal(readFileSync(consumerGroupFile, 'utf8'), consumerGroupPatched);
  t.equal(readFileSync(fetcherFile, 'utf8'), fetcherPatched);
  t.equal(readFileSync(brokerPoolFile, 'utf8'), brokerPoolPatched);
  t.equal(readFileSync(requestQueueFile, 'utf8'), requestQueuePatched);
  t.equal(readFileSync(offsetManagerFile, 'utf8'), offsetManagerPatched);
  t.equal(readFileSync(clusterFile, 'utf8'), clusterPatched);
  t.equal(readFileSync(adminFile, 'utf8'), adminPatched);
  t.equal(readFileSync(eosFile, 'utf8'), eosPatched);

  // An install patched before findConnectedBroker's second line was (a `git pull` and `npm install`).
  writeFileSync(brokerPoolFile, brokerPoolPatched.replace(STALLED_FIND_CONNECTED_PATCH.patched, STALLED_FIND_CONNECTED_PATCH.original));
  const upgraded = script.patchKafkajs(root);
  t.same(
    upgraded.filter((p) => p.state === 'patched'),
    [{ file: brokerPoolFile, state: 'patched' }],
    'an install patched before takes the new patch, and only it',
  );
  t.equal(readFileSync(brokerPoolFile, 'utf8'), brokerPoolPatched);

  const other = 'await Promise.all(somethingElse)\n';
  writeFileSync(file, other);
  t.throws(() => script.patchKafkajs(root), /kafkajs 2\.2\.4\) is not the text this patch was written for/);
  t.equal(readFileSync(file, 'utf8'), other, 'an unknown text is left as it was');

  // One file of a copy unknown: neither is written.
  const fresh = fakeInstall(t);
  writeFileSync(fresh.file, original);
  writeFileSync(fresh.crcFile, 'module.exports = somethingElse\n');
  t.throws(() => script.patchKafkajs(fresh.root), /crc32C\/index\.js \(kafkajs 2\.2\.4\) is not the text/);
  t.equal(readFileSync(fresh.file, 'utf8'), original, 'the other file of that copy is left as it was');
});

t.test("where @node-rs/crc32 cannot load, the patched entry runs kafkajs' own code", async (t) => {
  const { root, crcFile } = fakeInstall(t);
  writeFileSync(
    join(root, 'node_modules/kafkajs/src/producer/sendMessages.js'),
    `// ${KAFKAJS_PATCH_MARKER}\n// ${PRODUCE_TIMEOUT_PATCH_MARKER}\n`,
  );
  // kafkajs' JavaScript CRC beside the entry, and no @node-rs/crc32 under this root to find.
  writeFileSync(join(root, 'node_modules/kafkajs/src/protocol/recordBatch/crc32C/crc32C.js'), 'module.exports = () => -1\n');
  script.patchKafkajs(root);
  t.equal((require(crcFile) as (b: Buffer) => number)(Buffer.from('x')), 0xffffffff, "kafkajs' own function, made unsigned");
});

t.test('a service tells, once, when the kafkajs it loads lacks a mend', async (t) => {
  const f = fakeInstall(t);
  const from = pathToFileURL(join(f.root, 'service.js'));
  writeFileSync(f.file, 'await Promise.all(requests)\n');
  t.notOk(kafkajsPatched(from), 'an unpatched copy');
  writeFileSync(f.file, `// ${KAFKAJS_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the fetch manager mend existed');
  writeFileSync(f.fetchManagerFile, `// ${FETCH_MANAGER_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the heartbeat mend existed');
  writeFileSync(f.runnerFile, `// ${HEARTBEAT_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the fetch timeout mend existed');
  writeFileSync(f.consumerGroupFile, `// ${FETCH_TIMEOUT_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy with one of the two consumer group mends');
  writeFileSync(f.consumerGroupFile, `// ${FETCH_TIMEOUT_PATCH_MARKER}\n// ${COORDINATOR_TIMEOUT_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the produce timeout mend existed');
  writeFileSync(f.file, `// ${KAFKAJS_PATCH_MARKER}\n// ${PRODUCE_TIMEOUT_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the fetcher stop mend existed');
  writeFileSync(f.fetcherFile, `// ${FETCHER_STOP_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the seed broker mend existed');
  writeFileSync(f.brokerPoolFile, `// ${SEED_TIMEOUT_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the handshake timeout mend existed');
  writeFileSync(f.requestQueueFile, `// ${HANDSHAKE_TIMEOUT_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the stalled broker mend existed');
  writeFileSync(f.brokerPoolFile, `// ${SEED_TIMEOUT_PATCH_MARKER}\n// ${STALLED_BROKER_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), "a copy patched before findConnectedBroker's stalled broker mend existed");
  writeFileSync(
    f.brokerPoolFile,
    `// ${SEED_TIMEOUT_PATCH_MARKER}\n// ${STALLED_BROKER_PATCH_MARKER}\n// ${STALLED_FIND_CONNECTED_PATCH_MARKER}\n`,
  );
  t.notOk(kafkajsPatched(from), 'a copy patched before the resolve offsets mend existed');
  writeFileSync(
    f.consumerGroupFile,
    `// ${FETCH_TIMEOUT_PATCH_MARKER}\n// ${COORDINATOR_TIMEOUT_PATCH_MARKER}\n// ${RESOLVE_OFFSETS_PATCH_MARKER}\n`,
  );
  writeFileSync(f.offsetManagerFile, `// ${RESOLVE_OFFSETS_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the stalled controller mend existed');
  writeFileSync(f.clusterFile, `// ${STALLED_CONTROLLER_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), 'a copy patched before the any broker mend existed');
  writeFileSync(f.adminFile, `// ${ANY_BROKER_PATCH_MARKER}\n`);
  t.notOk(kafkajsPatched(from), "a copy with the admin's half only");
  writeFileSync(f.eosFile, `// ${ANY_BROKER_PATCH_MARKER}\n`);
  t.ok(kafkajsPatched(from), 'a patched copy');
  t.notOk(kafkajsPatched(pathToFileURL(join(tmpdir(), 'nowhere', 'x.js'))), 'no kafkajs to read: not known to be patched');

  const warned: string[] = [];
  const log = { warn: (_o: unknown, msg: string) => warned.push(msg) } as unknown as LogSink;
  warnUnlessKafkajsPatched(log, () => false);
  warnUnlessKafkajsPatched(log, () => false);
  t.same(
    warned,
    ['kafkajs is not patched: a produce retry can write a record twice, and a consumer stopped as brokers change can hang'],
    'once per process',
  );
});
