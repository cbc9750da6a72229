// test-plan: standalone
import t from 'tap';
import { AuthFailures } from '../../src/auth-failures.js';
import { clientOf } from '../../src/client-address.js';

t.test('a client may fail its budget at once, then once per 60/budget s; refused meanwhile; others are not', async (t) => {
  let now = 1_000_000;
  const failures = new AuthFailures(3, () => now); // one every 20 s
  for (let i = 0; i < 3; i++) {
    t.equal(failures.retryAfter('198.51.100.7'), 0, `before wrong key ${i + 1}: may try`);
    t.ok(failures.failed('198.51.100.7'));
  }
  t.equal(failures.retryAfter('198.51.100.7'), 20, 'three at once used the budget: the next is due in 20 s');
  t.equal(failures.retryAfter('198.51.100.8'), 0, 'another address is not refused');
  t.equal(failures.retryAfter('::ffff:198.51.100.7'), 20, 'the same IPv4 address mapped into IPv6 is the same client');
  now += 19_500;
  t.equal(failures.retryAfter('198.51.100.7'), 1, 'half a second to go: 1 s');
  now += 500;
  t.equal(failures.retryAfter('198.51.100.7'), 0, 'due: may try once');
  failures.failed('198.51.100.7');
  t.equal(failures.retryAfter('198.51.100.7'), 20, 'and is refused again: no new minute to spend at its start');
  now += 60_000;
  for (let i = 0; i < 3; i++) failures.failed('198.51.100.7');
  t.equal(failures.retryAfter('198.51.100.7'), 20, 'a minute without failures gives the whole budget back, no more');
});

t.test('IPv6 clients are counted by their /64: a host cannot take a new address for each guess', async (t) => {
  t.equal(clientOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.equal(clientOf('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'leading zeros and the host part do not matter');
  t.equal(clientOf('2001:db8::1'), '2001:db8:0:0::/64', '"::" filled in before the prefix is taken');
  t.equal(clientOf('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone is not part of it');
  t.equal(clientOf('64:ff9b:1::192.0.2.1'), '64:ff9b:1:0::/64', 'an IPv4 tail counts as two groups');
  t.equal(clientOf('2001:db8:1:3::1'), '2001:db8:1:3::/64', 'the next /64 is another client');
  t.equal(clientOf('203.0.113.9'), '203.0.113.9');
  t.equal(clientOf(undefined), '', 'no address (a closed socket): one client of its own');

  const failures = new AuthFailures(2, () => 0);
  failures.failed('2001:db8:1:2::a');
  failures.failed('2001:db8:1:2::b');
  t.ok(failures.retryAfter('2001:db8:1:2::c') > 0, 'two addresses of one /64 used its budget for a third');
  t.equal(failures.retryAfter('2001:db8:1:3::a'), 0, 'another /64 may try');
});

t.test('at most maxClients are kept; past them a new one is not counted until one has its budget whole again', async (t) => {
  let now = 0;
  const failures = new AuthFailures(1, () => now, 2);
  t.ok(failures.failed('192.0.2.1'));
  now = 30_000;
  t.ok(failures.failed('192.0.2.2'));
  t.notOk(failures.failed('192.0.2.3'), 'a third client: not counted');
  t.equal(failures.retryAfter('192.0.2.3'), 0);
  t.ok(failures.failed('192.0.2.1'), 'one already kept is still counted');
  t.ok(failures.retryAfter('192.0.2.1') > 0);
  now = 90_000;
  t.ok(failures.failed('192.0.2.3'), 'once the second is whole again (and forgotten), a new one is counted');
  t.notOk(failures.failed('192.0.2.4'), 'the table full again, and swept less than a second ago: not counted');
  t.ok(failures.retryAfter('192.0.2.1') > 0, 'the first, failed twice, is still kept');
});

t.test('a client whose budget is whole again is forgotten: at its next request, or by the sweep within a minute', async (t) => {
  let now = 0;
  const failures = new AuthFailures(2, () => now, 10);
  failures.failed('192.0.2.1');
  failures.failed('192.0.2.2');
  t.equal(failures.size, 2);
  now = 30_000; // each due again at 30 s
  t.equal(failures.retryAfter('192.0.2.1'), 0);
  t.equal(failures.size, 1, 'asked about once whole again: forgotten');
  now = 60_000;
  failures.failed('192.0.2.3');
  t.equal(failures.size, 1, 'the sweep a minute on forgot the other; the new one is kept');
});
