import t from 'tap';
import { stackControl } from '../../packages/stack/src/control-client.js';
import { bounceLeaders } from '../helpers/cluster.js';
import { sleep } from '../helpers/env.js';
import { eventually, ledgerPool } from '../helpers/mailer.js';
import { System } from './harness.js';

const control = stackControl();

t.test('17. slow SMTP (2 s a message) for 2 minutes under load, with the defaults → no eviction, no rebalance, 0 duplicates', async (t) => {
  // Defaults: pool 5, 6 partitions × 4 sends in flight, session 30 s. A batch of slow sends takes
  // far longer than the session timeout; only the heartbeat during the batch keeps the member.
  // LOG_LEVEL info (not a timing): the group joins are counted from the mailer's log.
  const system = await System.start(t, { mailers: 1, defaultTimings: true, mailer: { LOG_LEVEL: 'info' } });
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

t.test(
  '18. a leader killed while the mailer produces retries → no email left in retrying without a retry record',
  { skip: !control && 'the stack is external' },
  async (t) => {
    // Defaults for every timeout; RETRY_BASE_MS/RETRY_MAX_MS stay short (harness): they are the
    // retry policy, not a timeout, and at 30 s the scenario would mostly wait.
    const system = await System.start(t, { mailers: 1, defaultTimings: true });
    const refused = new Set<string>();
    // Every email's first attempt gets a 421: each one goes through the retry topic.
    system.sink.behaviour = (raw) => {
      const id = /^Message-ID:\s*(<[^>]+>)/im.exec(raw)?.[1] ?? '';
      if (refused.has(id)) return 'accept';
      refused.add(id);
      return { code: 451, message: 'Try again later' };
    };
    const load = system.load(4, { total: 600 });
    t.ok(await eventually(async () => refused.size >= 50, 60_000), 'retries are being produced');
    await bounceLeaders(t, control!, system.mailerEnv.RETRY_TOPIC!, 2);
    await load.finished;
    const s = await system.reconcile('leader kills during retry produces (defaults)', 240_000);
    // The bounced broker also leads partitions of the requests topic: a few POSTs may get a 503
    // (not confirmed), which is the API's contract; every 202 must be delivered.
    t.ok(s.accepted >= 550, `accepted ${s.accepted} of 600`);
    t.same(
      [...system.outcomes.keys()].filter((k) => k !== '202' && k !== '503'),
      [],
      'only 202 or 503',
    );
    t.equal(s.lost, 0, '0 lost: every retry record was written');
    t.ok(s.duplicatesKeptMessageId);
    const pool = ledgerPool(t);
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from emails where id = any($1) and state = 'retrying'`, [
      [...system.accepted.values()],
    ]);
    t.equal(rows[0]!.n, 0, 'none left in retrying');
    t.ok(refused.size >= s.accepted, `every email was refused once (${refused.size}) and retried`);
  },
);
