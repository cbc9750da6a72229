// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { FETCHER_STOP_PATCH_MARKER } from '../src/kafkajs-patch.js';
import { kafkajsModule, patchFrom } from './helpers/kafkajs-source.js';

// kafkajs' own fetcher (one per broker), as installed here and as kafkajs ships it, driven the way
// its fetch manager drives it: what its stop() waits for (scripts/kafkajs-fetcher-stop-patch.mjs).
// e2e 27 (test/e2e/network-partition.test.ts) is the same path in a real group: a rebalance while
// the mailers are cut off from one broker.

const file = createRequire(import.meta.url).resolve('kafkajs/src/consumer/fetcher.js');
const FETCHER_STOP_PATCH = await patchFrom('kafkajs-fetcher-stop-patch.mjs', 'FETCHER_STOP_PATCH');
const FETCHER_FETCH_PATCH = await patchFrom('kafkajs-fetcher-stop-patch.mjs', 'FETCHER_FETCH_PATCH');

interface Fetcher {
  start(): Promise<void>;
  stop(): Promise<void>;
}
type CreateFetcher = (options: object) => Fetcher;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fetcher whose fetches wait until the test settles them, and whose workers wait too. */
function rig(version: 'installed' | 'original') {
  const warnings: string[] = [];
  const logger = { namespace: () => logger, debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) };
  const fetches: { resolve(batches: object[]): void; reject(e: Error): void }[] = [];
  const pushed: object[] = [];
  let releaseWorkers = () => {};
  const fetcher = kafkajsModule<CreateFetcher>('kafkajs/src/consumer/fetcher.js', version, [FETCHER_STOP_PATCH, FETCHER_FETCH_PATCH])({
    nodeId: 1,
    logger,
    partitionAssignments: new Map(),
    fetch: () => new Promise((resolve, reject) => fetches.push({ resolve, reject })),
    workerQueue: {
      push: (...batches: object[]) => {
        pushed.push(...batches);
        return new Promise<void>((r) => {
          releaseWorkers = r;
        });
      },
    },
  });
  const started = fetcher.start().then(
    () => 'ended',
    (e: Error) => `failed: ${e.message}`,
  );
  /** Calls stop(); `after(ms)` says, that long after the call, whether it has returned. */
  const stop = () => {
    const at = Date.now();
    let stopped = false;
    const stopping = fetcher.stop().then(() => {
      stopped = true;
    });
    const after = async (ms: number) => {
      await sleep(at + ms - Date.now());
      return stopped;
    };
    return { stopping, after };
  };
  return { fetcher, fetches, pushed, warnings, started, stop, releaseWorkers: () => releaseWorkers() };
}

const batch = (partition: number) => ({ topic: 't', partition });

t.test('the kafkajs installed here carries the fetcher stop mend', async (t) => {
  t.match(readFileSync(file, 'utf8'), FETCHER_STOP_PATCH_MARKER);
});

t.test('a stop while the broker does not answer the fetch: it returns after 2 s, and the late answer is dropped', async (t) => {
  const r = rig('installed');
  await sleep(10);
  t.equal(r.fetches.length, 1, 'a fetch in flight');
  const stop = r.stop();
  t.notOk(await stop.after(1_000), 'a fetch that may still answer is waited for (1 s after the stop)');
  t.ok(await stop.after(2_500), 'given up on 2 s after the stop');
  t.equal(await Promise.race([r.started, sleep(500).then(() => 'still fetching')]), 'ended', 'start() ended as after an empty fetch');
  t.same(r.warnings, ['A fetch was not answered within 2 s of the stop: left to end on its own']);
  r.fetches[0]!.resolve([batch(0)]);
  r.fetches[0]!.reject(new Error('Request Fetch timed out'));
  await sleep(10);
  t.same(r.pushed, [], 'what the fetch brings late reaches no worker');
  t.equal(r.fetches.length, 1, 'and no new fetch is sent');
});

t.test('a stop while the fetch is answered in time waits for it, and drops its batches', async (t) => {
  const r = rig('installed');
  await sleep(10);
  const stop = r.stop();
  t.notOk(await stop.after(300));
  r.fetches[0]!.resolve([batch(0)]);
  await stop.stopping;
  t.equal(await r.started, 'ended');
  t.same(r.pushed, [], 'batches fetched after the stop are dropped, as kafkajs does');
  t.same(r.warnings, [], 'nothing given up on');
});

t.test('a stop while the workers hold fetched batches waits for them, however long (an email mid-send ends first)', async (t) => {
  const r = rig('installed');
  await sleep(10);
  r.fetches[0]!.resolve([batch(0)]);
  await sleep(10);
  t.same(r.pushed, [batch(0)], 'handed to the workers');
  const stop = r.stop();
  t.notOk(await stop.after(2_500), 'still waiting 2.5 s after the stop');
  r.releaseWorkers();
  await stop.stopping;
  t.equal(await r.started, 'ended');
  t.same(r.warnings, []);
});

t.test('a fetch that fails while running ends start() with its error, as before', async (t) => {
  const r = rig('installed');
  await sleep(10);
  r.fetches[0]!.reject(new Error('rebalance'));
  t.equal(await r.started, 'failed: rebalance');
});

t.test("kafkajs' own fetcher waits for an unanswered fetch for as long as it takes (its 30 s request timeout)", async (t) => {
  const r = rig('original');
  await sleep(10);
  const stop = r.stop();
  t.notOk(await stop.after(3_000), 'not returned 3 s after the stop');
  r.fetches[0]!.reject(new Error('Request Fetch timed out'));
  await stop.stopping;
  t.equal(await r.started, 'failed: Request Fetch timed out');
});
