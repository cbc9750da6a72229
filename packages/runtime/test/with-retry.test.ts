// test-plan: standalone
import t from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { wallClock } from '../../../test/helpers/mock-clock.js';
import { ConfigError } from '../src/config-error.js';
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

t.test('a ConfigError is not retried: the setting that is wrong now is wrong at the deadline too', async (t) => {
  let tries = 0;
  const started = Date.now();
  const error = await retryUntil(
    'kafka topics',
    async () => {
      tries++;
      throw new ConfigError('Kafka topic emails has min.insync.replicas=1, needs 2 or more.');
    },
    quietLogger,
    120_000,
  ).catch((e: unknown) => e);
  t.ok(error instanceof ConfigError);
  t.equal(tries, 1);
  t.ok(Date.now() - started < 5_000, 'thrown at once, not after the 120 s boot deadline');
});
