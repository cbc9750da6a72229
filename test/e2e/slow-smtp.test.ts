import t from 'tap';
import { sleep } from '../helpers/env.js';
import { System } from './harness.js';

// Runs beside other files (shared phase): it stops nothing and mostly waits on a slow server, so
// it need not hold the machine alone. A neighbour's CPU load only makes the heartbeat's job harder.

t.test('17. slow SMTP (2 s a message) for 2 minutes under load, with the defaults → no eviction, no rebalance, 0 duplicates', async (t) => {
  // Defaults: pool 5, 6 partitions × 4 sends in flight, session 30 s. A batch of slow sends takes
  // far longer than the session timeout; only the heartbeat during the batch keeps the member.
  // LOG_LEVEL info (not a timing): the group joins are counted from the mailer's log.
  const system = await System.start(t, { mailers: 1, mailer: { LOG_LEVEL: 'info' } });
  system.sink.delayMs = 2_000;
  const started = Date.now();
  // About 2 emails a second for 2 minutes: a little under the 2.5/s five slow connections manage.
  const sends: Promise<unknown>[] = [];
  while (Date.now() - started < 120_000) {
    sends.push(system.send());
    await sleep(500);
  }
  await Promise.all(sends);
  system.sink.delayMs = 0;
  const s = await system.reconcile('slow SMTP 2 s/message for 2 min (defaults)', 240_000);
  t.ok(s.accepted >= 200, `accepted ${s.accepted}`);
  t.equal(s.lost, 0, '0 lost');
  t.equal(s.duplicated, 0, '0 duplicates');
  const log = system.mailers[0]!.messages();
  t.equal(log['joined consumer group'], 1, `joined once: never evicted, no rebalance (${JSON.stringify(system.mailers[0]!.warnings())})`);
  t.equal(log['email sent'], s.accepted, 'each email sent once by the mailer, no resend after a lost claim');
  t.notOk(system.mailers[0]!.warnings()['record handling failed; will retry'], 'no record failed');
});
