import { takeDue } from '@postline/ledger';
import t from 'tap';
import { privateLedgerPool, recordedPool } from '../../../test/helpers/mailer.js';
import { rowsRead, sessionPlan } from '../../../test/helpers/session-plan.js';

// takeDue with a backlog, as after a receiver outage: what it takes, and that the work of a poll
// does not grow with the backlog (a chaos run at 200 emails/s left 150,000 deliveries queued,
// and the dispatcher, reading all of them on every poll, delivered 30 a second).
t.test('takeDue: each endpoint its oldest due rows, by index, whatever the backlog', async (t) => {
  const pool = await privateLedgerPool(t);
  for (const id of ['we_big', 'we_small']) {
    await pool.query(
      `insert into webhook_endpoints (id, account, url, events, secret) values ($1, 'acct', 'http://127.0.0.1:9/', '{*}', 'whsec_x')`,
      [id],
    );
  }
  // 20,000 due for one endpoint, oldest first by number; 5 due and 1 in the future for the other.
  await pool.query(
    `insert into webhook_deliveries (endpoint_id, event_id, event_type, email_id, body, status, next_attempt_at)
     select 'we_big', 'evt_' || lpad(i::text, 6, '0'), 'email.sent', 'e' || i, '{}', 'pending', now() - interval '1 hour' + i * interval '1 millisecond'
       from generate_series(1, 20000) i`,
  );
  await pool.query(
    `insert into webhook_deliveries (endpoint_id, event_id, event_type, email_id, body, status, next_attempt_at)
     select 'we_small', 'evs_' || i, 'email.sent', 's' || i, '{}', 'pending', now() - interval '1 minute' + i * interval '1 millisecond'
       from generate_series(1, 5) i
     union all select 'we_small', 'evs_later', 'email.sent', 'later', '{}', 'pending', now() + interval '1 hour'`,
  );
  await pool.query('analyze webhook_deliveries');
  const take = (busy: string[] = [], db = pool) => takeDue(db, { limit: 64, perEndpoint: 4, busy, leaseMs: 60_000 });

  const first = await take();
  t.same(
    first.map((d) => d.eventId).sort(),
    ['evs_1', 'evs_2', 'evs_3', 'evs_4', 'evt_000001', 'evt_000002', 'evt_000003', 'evt_000004'],
    'four of each endpoint, the oldest',
  );
  const second = await take();
  t.same(
    second.map((d) => d.eventId).sort(),
    ['evs_5', 'evt_000005', 'evt_000006', 'evt_000007', 'evt_000008'],
    'the leased ones are skipped; nothing before its time',
  );
  t.same(
    (await take(['we_big'])).map((d) => d.eventId),
    [],
    'a busy endpoint is not read (and the other has nothing due)',
  );
  const limited = await takeDue(pool, { limit: 2, perEndpoint: 4, busy: [], leaseMs: 60_000 });
  t.same(
    limited.map((d) => d.eventId),
    ['evt_000009', 'evt_000010'],
    'the limit takes the oldest across endpoints',
  );

  // What the statement reads: the rows it takes, not the backlog, in the plan the dispatcher's
  // session runs (generic; session-plan.ts). With its limits bound as parameters, that plan read
  // 19,991 rows here: a chaos run's dispatcher took 70 ms a poll against 130,000 pending and
  // delivered 33 a second. Numbering every due row per endpoint, as before that, read 20,000 too.
  const { db: recording, statements } = recordedPool(pool);
  await take([], recording);
  const { mode, plan } = await sessionPlan(pool, statements[0]!.text, statements[0]!.values);
  t.equal(mode, 'force_generic_plan', "planned as in the services' sessions");
  const read = rowsRead(plan, 'webhook_deliveries');
  t.ok(read < 100, `rows of webhook_deliveries read for one poll: ${read} (a backlog of 20,000)`);
});
