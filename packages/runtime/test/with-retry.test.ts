// test-plan: standalone
import t from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { wallClock } from '../../../test/helpers/mock-clock.js';
import { retryUntil } from '../src/with-retry.js';

/** A boot step that fails `failures` times (stepping the wall clock by `stepMs` at its first failure), then succeeds. */
function flaky(failures: number, wall: { step(ms: number): void }, stepMs: number) {
  let tries = 0;
  return {
    tries: () => tries,
    fn: async () => {
      tries++;
      if (tries === 1) wall.step(stepMs);
      if (tries <= failures) throw new Error('refused');
      return 'connected';
    },
  };
}

t.test("the wall clock stepped forward an hour does not end a boot step's retries early", async (t) => {
  const wall = wallClock(t);
  const step = flaky(2, wall, 3_600_000);
  // Measured with Date.now(), the 10 s deadline had passed at the first failure: the service died at boot.
  t.equal(await retryUntil('kafka', step.fn, quietLogger, 10_000), 'connected');
  t.equal(step.tries(), 3);
});

t.test('the wall clock stepped back an hour does not stretch the deadline', async (t) => {
  const wall = wallClock(t);
  const step = flaky(Number.POSITIVE_INFINITY, wall, -3_600_000);
  // Retries at 250 and then 750 ms: the second would pass the 600 ms deadline, so it gives up.
  const outcome = await Promise.race([
    retryUntil('kafka', step.fn, quietLogger, 600).then(
      () => 'succeeded',
      (error: Error) => error.message,
    ),
    new Promise((resolve) => setTimeout(() => resolve('still retrying after 5 s'), 5_000).unref()),
  ]);
  t.equal(outcome, 'refused', 'the last error, at the deadline');
  t.equal(step.tries(), 2);
});
