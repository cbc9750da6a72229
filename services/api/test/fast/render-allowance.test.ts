// test-plan: standalone
import t from 'tap';
import { RenderAllowance } from '../../src/templates/render-allowance.js';

t.test('RenderAllowance: a burst to start, then perSecondMs a second; a render may overdraw, and the debt is waited out', async (t) => {
  let now = 0;
  const allowance = new RenderAllowance(100, 1_000, () => now);
  t.equal(allowance.balance('a'), 1_000, 'a new account starts with the burst');
  allowance.spend('a', 900);
  t.equal(allowance.balance('a'), 100);
  allowance.spend('a', 250);
  t.equal(allowance.balance('a'), -150, 'the render that overdrew was not cut short: its cost is a debt');
  t.equal(allowance.retryAfterSeconds('a'), 2, '150 ms at 100 ms a second: 1.5 s, said as 2');
  t.equal(allowance.balance('b'), 1_000, 'another account is not affected');
  now += 1_500;
  t.equal(allowance.balance('a'), 0, 'the debt paid back after Retry-After (rounded up): it may render again');
  now += 60_000;
  t.equal(allowance.balance('a'), 1_000, 'never more than the burst');
  t.equal(allowance.retryAfterSeconds('a'), 1, 'at least one second');
});
