// test-plan: standalone
import t from 'tap';
import { sleep } from '../../../test/helpers/env.js';
import { wallClock } from '../../../test/helpers/mock-clock.js';
import { FreshValue } from '../src/fresh-value.js';

/** A FreshValue over a counted read on a clock the test moves; `release()` ends the reads under way. */
function counted(maxAgeMs = 1_000) {
  let clock = 0;
  let reads = 0;
  let fail = false;
  let waiting: (() => void)[] = [];
  const value = new FreshValue(
    () =>
      new Promise<number>((resolve, reject) => {
        const n = ++reads;
        waiting.push(() => (fail ? reject(new Error('read failed')) : resolve(n)));
      }),
    maxAgeMs,
    () => clock,
  );
  return {
    value,
    reads: () => reads,
    move: (ms: number) => {
      clock += ms;
    },
    failNext: (on: boolean) => {
      fail = on;
    },
    release: async () => {
      const now = waiting;
      waiting = [];
      for (const end of now) end();
      await sleep(0);
    },
  };
}

t.test('read once, kept for maxAgeMs, then read again', async (t) => {
  const c = counted();
  const first = c.value.get();
  await c.release();
  t.equal(await first, 1);
  c.move(999);
  t.equal(await c.value.get(), 1, 'still fresh at 999 ms');
  t.equal(c.reads(), 1);
  c.move(1);
  const second = c.value.get();
  await c.release();
  t.equal(await second, 2, 'read again at 1,000 ms');
});

t.test('callers during a read share it: a burst of probes is one request', async (t) => {
  const c = counted();
  const burst = Array.from({ length: 50 }, () => c.value.get());
  t.equal(c.reads(), 1, 'one read under way');
  await c.release();
  t.same(new Set(await Promise.all(burst)), new Set([1]));
  const forced = c.value.get(true);
  const joined = c.value.get(true);
  t.equal(c.reads(), 2, 'force reads now, and a second force joins that read');
  await c.release();
  t.equal(await forced, 2);
  t.equal(await joined, 2);
});

t.test('a failed read is not kept: the next caller reads again', async (t) => {
  const c = counted();
  c.failNext(true);
  const failed = t.rejects(c.value.get(), /read failed/);
  await c.release();
  await failed;
  c.failNext(false);
  const next = c.value.get();
  t.equal(c.reads(), 2, 'read again at once, not after maxAgeMs');
  await c.release();
  t.equal(await next, 2);
});

t.test('the wall clock stepped back an hour: the value is still read again a second later', async (t) => {
  // On the default (monotonic) clock. Measured with Date.now(), the readiness answer and the
  // webhook endpoints stayed as they were for the hour.
  const wall = wallClock(t);
  let reads = 0;
  const value = new FreshValue(async () => ++reads, 1_000);
  t.equal(await value.get(), 1);
  wall.step(-3_600_000);
  await sleep(1_050);
  t.equal(await value.get(), 2, 'read again once a second had passed');
  wall.step(7_200_000);
  t.equal(await value.get(), 2, 'and a step forward does not make it stale');
});
