// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { HEARTBEAT_PATCH_MARKER } from '../src/kafkajs-patch.js';

// kafkajs' own Runner, as installed here (patched by scripts/kafkajs-heartbeat-patch.mjs), over a
// consumer group whose heartbeat the test answers, or does not: what a batch waits for, and where
// an answer's error goes.

const require = createRequire(import.meta.url);
const Runner = require('kafkajs/src/consumer/runner.js') as new (options: object) => RunnerLike;
const { KafkaJSProtocolError, KafkaJSRequestTimeoutError } = require('kafkajs/src/errors.js') as {
  KafkaJSProtocolError: new (e: object) => Error;
  KafkaJSRequestTimeoutError: new (e: string) => Error;
};

interface RunnerLike {
  heartbeat(): Promise<void>;
  processEachBatch(batch: object): Promise<void>;
}

const WAIT_MS = 1_000;
const logger = { namespace: () => logger, debug() {}, info() {}, warn() {}, error() {} };

/** A runner whose group's heartbeats are each a promise the test settles (`answers`, in order). */
function runner(eachBatch?: (payload: { heartbeat(): Promise<void> }) => Promise<void>) {
  const answers: { resolve(): void; reject(e: Error): void }[] = [];
  const consumerGroup = {
    heartbeat: () => new Promise<void>((resolve, reject) => answers.push({ resolve, reject })),
    getNodeIds: () => [],
    commitOffsets: async () => {},
    resolveOffset() {},
    hasSeekOffset: () => false,
  };
  const r = new Runner({
    logger,
    consumerGroup,
    instrumentationEmitter: { emit() {} },
    concurrency: 1,
    eachBatch,
    heartbeatInterval: 0,
    onCrash() {},
    retry: { retries: 0 },
    autoCommit: false,
  });
  return { r, answers };
}

/** How long `p` took to settle, and how (an error or nothing). */
async function timed(p: Promise<void>): Promise<{ ms: number; error: Error | null }> {
  const start = performance.now();
  const error = await p.then(
    () => null,
    (e: Error) => e,
  );
  return { ms: performance.now() - start, error };
}

const rebalancing = () => new KafkaJSProtocolError({ message: 'The group is rebalancing', type: 'REBALANCE_IN_PROGRESS', code: 27 });

t.test('the kafkajs installed here carries the heartbeat mend', async (t) => {
  t.match(readFileSync(require.resolve('kafkajs/src/consumer/runner.js'), 'utf8'), HEARTBEAT_PATCH_MARKER);
});

t.test('an answer in time is what it was: the batch waits for it, and its error is thrown at once', async (t) => {
  const { r, answers } = runner();
  const ok = r.heartbeat();
  setTimeout(() => answers[0]?.resolve(), 50);
  const first = await timed(ok);
  t.same([first.error, answers.length], [null, 1]);
  t.ok(first.ms >= 40, `waited for the answer (${first.ms.toFixed(0)} ms)`);

  const refused = r.heartbeat();
  const alsoWaiting = r.heartbeat();
  t.equal(answers.length, 2, 'two callers at once share one heartbeat');
  setTimeout(() => answers[1]?.reject(rebalancing()), 50);
  t.match((await timed(refused)).error, { type: 'REBALANCE_IN_PROGRESS' }, 'the rebalance reaches the caller');
  t.match((await timed(alsoWaiting)).error, { type: 'REBALANCE_IN_PROGRESS' }, 'and every caller waiting');
  const next = r.heartbeat();
  t.equal(answers.length, 3, 'nothing left over: the next heartbeat is a new one');
  answers[2]?.resolve();
  t.same((await timed(next)).error, null);
});

t.test('an answer that does not come holds a batch for 1 s, not for the 30 s request timeout', async (t) => {
  const { r, answers } = runner();
  const first = r.heartbeat();
  const first2 = await timed(first);
  t.equal(first2.error, null);
  t.ok(first2.ms >= WAIT_MS - 50 && first2.ms < WAIT_MS + 1_500, `the first caller waited ${first2.ms.toFixed(0)} ms`);
  const later = await timed(r.heartbeat());
  t.ok(later.ms < 50, `a caller after the wait is over goes on at once (${later.ms.toFixed(1)} ms)`);
  t.equal(answers.length, 1, 'still one heartbeat in flight, as kafkajs shares it');

  // No answer at all (a timeout), once: not thrown (the runner would restart its fetchers, and wait
  // on a fetch to the same broker); a new heartbeat goes out instead.
  answers[0]?.reject(new KafkaJSRequestTimeoutError('Request Heartbeat(key: 12, version: 3) timed out'));
  await new Promise((resolve) => setImmediate(resolve));
  t.same((await timed(r.heartbeat())).error, null, 'a first heartbeat with no answer is not thrown');
  t.equal(answers.length, 2, 'a new heartbeat is sent');
  // The second running: thrown by the runner's own next heartbeat, where an answer in time throws.
  answers[1]?.reject(new KafkaJSRequestTimeoutError('Request Heartbeat(key: 12, version: 3) timed out'));
  await new Promise((resolve) => setImmediate(resolve));
  t.match((await timed(r.heartbeat())).error, { name: 'KafkaJSRequestTimeoutError' }, 'the second in a row is thrown');
  // An answer resets the count: one more timeout after it is forgiven again.
  const next = r.heartbeat();
  t.equal(answers.length, 3, 'then a new heartbeat is sent');
  answers[2]?.resolve();
  t.same((await timed(next)).error, null);
  await timed(r.heartbeat());
  answers[3]?.reject(new KafkaJSRequestTimeoutError('Request Heartbeat(key: 12, version: 3) timed out'));
  await new Promise((resolve) => setImmediate(resolve));
  t.same((await timed(r.heartbeat())).error, null, 'after an answer, a timeout is the first again');
});

t.test(
  'a heartbeat past its time is late whatever comes: its timeout, landing as the runner looks at it, is counted, not thrown',
  async (t) => {
    const { r, answers } = runner();
    await timed(r.heartbeat());
    await new Promise((resolve) => setTimeout(resolve, 10)); // past its time for certain (a timer may fire a little early)
    // kafkajs' timer rejects the request in the turn a batch ends: before the mend, the runner raced
    // the answer against a timer of 0 ms, and the answer, first, was thrown at once.
    const looking = timed(r.heartbeat());
    answers[0]?.reject(new KafkaJSRequestTimeoutError('Request Heartbeat(key: 12, version: 3) timed out'));
    t.same((await looking).error, null, 'a first heartbeat with no answer is not thrown');
    await new Promise((resolve) => setImmediate(resolve));
    t.same((await timed(r.heartbeat())).error, null, 'nor by the next heartbeat: it was the first');
    t.equal(answers.length, 2, 'a new heartbeat is sent');
  },
);

t.test("eachBatch's heartbeat leaves a late error to the runner's own", async (t) => {
  let inBatch: Error | null | undefined;
  const { r, answers } = runner(async (payload) => {
    inBatch = (await timed(payload.heartbeat())).error;
  });
  await r.heartbeat(); // sent, not answered within the wait
  answers[0]?.reject(rebalancing());
  await new Promise((resolve) => setImmediate(resolve));
  await r.processEachBatch({ topic: 'emails', partition: 0, messages: [], lastOffset: () => '0', firstOffset: () => '0' });
  t.equal(inBatch, null, "the batch's own heartbeat does not take it (an app may ignore its errors, as the mailer does)");
  t.match((await timed(r.heartbeat())).error, { type: 'REBALANCE_IN_PROGRESS' }, "the runner's next heartbeat throws it");
});
