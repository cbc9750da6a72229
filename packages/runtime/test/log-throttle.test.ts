// test-plan: standalone
import t from 'tap';
import { sleep } from '../../../test/helpers/env.js';
import { wallClock } from '../../../test/helpers/mock-clock.js';
import { LogThrottle } from '../src/log-throttle.js';

function recorder() {
  const lines: Array<[Record<string, unknown>, string]> = [];
  return { lines, log: { warn: (fields: Record<string, unknown>, message: string) => void lines.push([fields, message]) } };
}

t.test('the first at once, then one an interval, saying how many were left out', async (t) => {
  let now = 0;
  const throttle = new LogThrottle(10_000, () => now);
  const { lines, log } = recorder();
  for (let i = 0; i < 5_000; i++) {
    throttle.warn(log, { i }, 'ledger unavailable');
    now += 1; // 5,000 requests over 5 s
  }
  t.same(lines, [[{ i: 0 }, 'ledger unavailable']], 'one line for 5,000 in 5 s');
  now = 10_000;
  throttle.warn(log, { i: 5_000 }, 'ledger unavailable');
  t.same(lines[1], [{ i: 5_000, skipped: 4_999 }, 'ledger unavailable'], 'the next interval says how many were left out');
  now = 30_000;
  throttle.warn(log, { i: 5_001 }, 'ledger unavailable');
  t.same(lines[2], [{ i: 5_001 }, 'ledger unavailable'], 'none left out: no count');
});

t.test('each key on its own', async (t) => {
  const throttle = new LogThrottle(10_000, () => 0);
  const { lines, log } = recorder();
  throttle.warn(log, {}, 'request failed', 'request failed EMAIL_ERR_QUEUE_UNAVAILABLE');
  throttle.warn(log, {}, 'request failed', 'request failed EMAIL_ERR_LEDGER_UNAVAILABLE');
  throttle.warn(log, {}, 'request failed', 'request failed EMAIL_ERR_QUEUE_UNAVAILABLE');
  throttle.warn(log, {}, 'submission not confirmed');
  t.equal(lines.length, 3, 'two codes and another message: three lines');
});

t.test('by default the interval is not on the wall clock: stepped back an hour, the next interval still logs', async (t) => {
  const wall = wallClock(t);
  const throttle = new LogThrottle(50);
  const { lines, log } = recorder();
  throttle.warn(log, {}, 'ledger unavailable');
  wall.step(-3_600_000);
  await sleep(80);
  throttle.warn(log, {}, 'ledger unavailable');
  t.equal(lines.length, 2, 'a line an interval, as before the step');
});
