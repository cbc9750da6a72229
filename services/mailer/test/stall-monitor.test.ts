// test-plan: standalone
import t from 'tap';
import { wallClock } from '../../../test/helpers/mock-clock.js';
import { StallMonitor } from '../src/stall-monitor.js';

function monitor(stallMs = 1_000) {
  let now = 0;
  const m = new StallMonitor(stallMs, () => now);
  m.assigned({ emails: [0, 1], retry: [0] });
  return { m, tick: (ms: number) => (now += ms) };
}

t.test('a record in flight past the stall timeout stalls its partition, and only that one', async (t) => {
  const { m, tick } = monitor();
  m.started('emails', 0, '41');
  m.started('emails', 0, '42');
  m.started('emails', 1, '7');
  tick(500);
  m.finished('emails', 1, '7');
  tick(400);
  t.same(m.stalls(), [], 'not yet at 900 ms');
  tick(200);
  // Partition 0 has not moved for 1,100 ms; partition 1 moved 600 ms ago.
  const stalls = m.stalls();
  t.same(
    stalls.map((s) => [s.topic, s.partition, s.oldestOffset]),
    [['emails', 0, '41']],
  );
  t.same(
    m.oldestUnfinished().find((u) => u.partition === 0 && u.topic === 'emails'),
    { topic: 'emails', partition: 0, ageMs: 1_100, offset: '41' },
  );
  m.finished('emails', 0, '41');
  t.same(m.stalls(), [], 'a finished record is movement');
});

t.test('lag without a batch (a consumer that stopped fetching) is a stall; a moving committed offset is not', async (t) => {
  const { m, tick } = monitor();
  m.position('emails', 0, 5, '100');
  tick(1_500);
  t.equal(m.stalls().length, 1, 'lag and nothing moved');
  m.position('emails', 0, 3, '102');
  t.same(m.stalls(), [], 'the committed offset moved');
  tick(1_500);
  m.position('emails', 0, 0, '105');
  tick(5_000);
  t.same(m.stalls(), [], 'no lag, nothing in flight: idle, not stalled');
});

t.test('a deliberate pause is not a stall until well after it should have resumed', async (t) => {
  const { m, tick } = monitor();
  m.started('retry', 0, '3');
  m.finished('retry', 0, '3');
  m.deferred('retry', 0, 60_000); // retry not due for a minute
  m.position('retry', 0, 1);
  tick(59_000);
  t.same(m.stalls(), [], 'waiting for the due time');
  tick(1_500);
  t.same(m.stalls(), [], 'resumed 500 ms ago: still within the stall timeout');
  tick(1_000);
  t.equal(m.stalls().length, 1, 'not fetched again 1.5 s after it should have resumed');
});

t.test('a ledger outage suspends stall detection; a rebalance forgets revoked partitions', async (t) => {
  const { m, tick } = monitor();
  m.started('emails', 0, '9');
  m.dependencyDown(10_000);
  tick(9_000);
  t.same(m.stalls(), [], 'waiting on the ledger');
  m.assigned({ emails: [1] });
  tick(20_000);
  t.same(m.stalls(), [], 'partition 0 is no longer ours');
  t.same(m.assignment(), [{ topic: 'emails', partition: 1 }]);
});

t.test('a partition with lag waiting its turn while other partitions make progress is not stalled', async (t) => {
  const { m, tick } = monitor();
  m.position('emails', 1, 500, '0'); // lag, never fetched yet: the consumer is busy elsewhere
  for (let i = 0; i < 5; i++) {
    m.started('emails', 0, String(i));
    tick(400);
    m.finished('emails', 0, String(i));
  }
  t.same(m.stalls(), [], '2 s without a batch for partition 1, but partition 0 moves');
  tick(1_100);
  t.same(
    m.stalls().map((s) => s.partition),
    [1],
    'once nothing moves anywhere, the lag counts',
  );
});

t.test('by default stalls are timed on a monotonic clock: the wall clock stepped forward an hour is no stall', async (t) => {
  const wall = wallClock(t);
  const m = new StallMonitor(1_000);
  m.assigned({ emails: [0] });
  m.started('emails', 0, '1');
  // A VM resumed, or NTP corrected a slow clock. On Date.now() the record read as an hour old,
  // and the watchdog replaced a healthy mailer.
  wall.step(3_600_000);
  t.same(m.stalls(), [], 'a record just started is not stalled');
});

t.test(
  'a record that keeps failing stalls its partition, however often it is tried and whatever finishes behind it; its going through ends it',
  async (t) => {
    const { m, tick } = monitor();
    m.started('emails', 1, '8');
    m.finished('emails', 1, '8');
    // The head record of partition 0 fails every second (a produce refused for good), with lag behind it.
    m.position('emails', 0, 3);
    for (let s = 0; s < 5; s++) {
      m.started('emails', 0, '20');
      // The records behind it, fetched again with it and skipped as already done: not its progress.
      m.started('emails', 0, '21');
      m.finished('emails', 0, '21');
      tick(100);
      m.failed('emails', 0, '20');
      tick(150);
      // Partition 1 moves meanwhile: the consumer as a whole is alive.
      m.started('emails', 1, String(9 + s));
      m.finished('emails', 1, String(9 + s));
    }
    const stalls = m.stalls();
    t.same(
      stalls.map((s) => [s.topic, s.partition, s.failing, s.oldestOffset, s.sinceMs]),
      [['emails', 0, true, '20', 1_150]],
      'failing since 1,150 ms: stalled, said to be failing, naming the record',
    );
    m.started('emails', 0, '20');
    m.finished('emails', 0, '20');
    t.same(m.stalls(), [], 'the record went through');
    m.started('emails', 0, '21');
    m.failed('emails', 0, '21');
    tick(900);
    t.same(m.stalls(), [], 'failing for 900 ms only');
    m.started('emails', 0, '21');
    m.finished('emails', 0, '21');
    m.deferred('emails', 0, 30_000);
    tick(5_000);
    t.same(m.stalls(), [], 'a deliberate pause after a failure is not one');
  },
);
