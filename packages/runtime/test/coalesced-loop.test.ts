// test-plan: standalone
import t from 'tap';
import { mockClock, settle, wallClock } from '../../../test/helpers/mock-clock.js';
import { waitUntil } from '../../../test/helpers/wait.js';
import { BatchDrain, CoalescedLoop } from '../src/coalesced-loop.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

t.test('nudges during a round ask for exactly one more; never two rounds at once', async (t) => {
  let rounds = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  let release: () => void = () => {};
  const loop = new CoalescedLoop(async () => {
    rounds++;
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await new Promise<void>((r) => (release = r));
    concurrent--;
  }, 60_000);
  loop.start();
  for (let i = 0; i < 5; i++) loop.nudge();
  t.equal(rounds, 1, 'one round running');
  release();
  await tick();
  t.equal(rounds, 2, 'five nudges during it: one more round');
  release();
  await tick();
  t.equal(rounds, 2, 'and no other');
  t.equal(maxConcurrent, 1);
  await loop.stop();
});

t.test('stop(true) runs one last round; after stop nothing runs', async (t) => {
  let rounds = 0;
  const loop = new CoalescedLoop(async () => {
    rounds++;
  }, 60_000);
  loop.start();
  await tick();
  t.equal(rounds, 1, 'start runs a round');
  await loop.stop(true);
  t.equal(rounds, 2, 'the last round');
  loop.nudge();
  await tick();
  t.equal(rounds, 2, 'nothing after stop');
  const plain = new CoalescedLoop(async () => {
    rounds++;
  }, 60_000);
  await plain.stop();
  plain.nudge();
  await tick();
  t.equal(rounds, 2, 'a loop stopped without a last round runs none');
});

t.test('BatchDrain: drains while batches come back full, one batch at most once stopping, and reports a failure', async (t) => {
  const backlog = [500, 500, 120];
  const taken: number[] = [];
  const drain = new BatchDrain(
    async () => {
      const n = backlog.shift() ?? 0;
      taken.push(n);
      return n;
    },
    500,
    60_000,
    () => t.fail('no error expected'),
  );
  drain.start();
  await tick();
  t.same(taken, [500, 500, 120], 'full batches, then the short one ends the round');
  backlog.push(500, 500, 500);
  await drain.stop(true);
  t.same(taken, [500, 500, 120, 500], 'the last round takes one batch, even of a full backlog');

  const errors: unknown[] = [];
  const failing = new BatchDrain(
    async () => {
      throw new Error('ledger down');
    },
    500,
    60_000,
    (error) => errors.push(error),
  );
  failing.start();
  await tick();
  t.equal(errors.length, 1, 'the failure is reported and the round ends');
  await failing.stop(false);
});

// This test runs on node:test's mock clock (the loop's gap measured on its Date): on the real one
// a busy CI machine stretched ten 5 ms nudges past the 100 ms gap (it failed there, not in the code).
t.test('minGapMs: nudges within the gap of the last start make one round once it has passed; stop(true) need not wait', async (t) => {
  const clock = mockClock(t, ['setTimeout', 'setInterval', 'Date']);
  const starts: number[] = [];
  const loop = new CoalescedLoop(
    async () => {
      starts.push(Date.now());
    },
    60_000,
    100,
    () => Date.now(),
  );
  loop.start();
  await settle();
  for (let i = 0; i < 11; i++) {
    loop.nudge();
    await clock.advance(9);
  }
  t.equal(starts.length, 1, 'eleven nudges within the gap (99 ms): no round yet');
  await clock.advance(1);
  t.equal(starts.length, 2, 'then exactly one, once the gap has passed');
  t.equal((starts[1] as number) - (starts[0] as number), 100, 'the gap apart');
  clock.tick(50);
  let stopped = false;
  const stopping = loop.stop(true).then(() => (stopped = true));
  await settle();
  t.equal(starts.length, 3, 'the last round runs at once on stop');
  t.ok(stopped, 'and stop resolves without the clock moving: it did not wait out the gap');
  await stopping;
});

t.test('the wall clock stepped back an hour does not hold the next round for that hour', async (t) => {
  const wall = wallClock(t);
  let rounds = 0;
  const loop = new CoalescedLoop(
    async () => {
      rounds++;
    },
    60_000,
    100,
  );
  t.teardown(() => loop.stop());
  loop.start();
  await settle();
  t.equal(rounds, 1);
  // As NTP or a VM host does. Measured on Date.now(), the next round waited out the hour.
  wall.step(-3_600_000);
  loop.nudge();
  await waitUntil(() => rounds >= 2, 5_000, 10);
  t.equal(rounds, 2, 'the nudge made a round once the 100 ms gap had passed');
});
