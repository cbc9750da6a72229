import t from 'tap';
import { stackControl } from '../../packages/stack/src/control-client.js';
import { bounceLeaders } from '../helpers/cluster.js';
import { eventually, ledgerPool } from '../helpers/mailer.js';
import { System } from './harness.js';

const control = stackControl();

t.test(
  '18. a leader killed while the mailer produces retries → no email left in retrying without a retry record',
  { skip: !control && 'the stack is external' },
  async (t) => {
    // Defaults for every timeout; RETRY_BASE_MS/RETRY_MAX_MS stay short (harness): they are the
    // retry policy, not a timeout, and at 30 s the scenario would mostly wait.
    const system = await System.start(t, { mailers: 1 });
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
    t.same(system.unexpectedOutcomes('202', '503'), {}, 'only 202 or 503');
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
