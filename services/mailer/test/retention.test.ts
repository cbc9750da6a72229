import { purgeExpired } from '@postline/ledger';
import t from 'tap';
import { privateLedgerPool, recordedPool } from '../../../test/helpers/mailer.js';
import { rowsRead, sessionPlan } from '../../../test/helpers/session-plan.js';

// The mailer's retention purge (plugins/ledger.ts runs it hourly) on a ledger of its own: what goes, what stays, in bounded batches,
// and what one batch reads in the plan the mailer's session runs.
t.test('retention: old final rows and stale reservations go in batches; rows in flight and recent ones stay', async (t) => {
  const pool = await privateLedgerPool(t);
  const emails = async (prefix: string, n: number, state: string, age: string) =>
    pool.query(
      `insert into emails (id, account, state, created_at, updated_at)
       select $1 || g, 'acct', $2, now() - $3::interval, now() - $3::interval from generate_series(1, $4::int) g`,
      [prefix, state, age, n],
    );
  await emails('old_sent_', 2_500, 'sent', '40 days');
  await emails('old_failed_', 3, 'failed', '40 days');
  await emails('recent_sent_', 5, 'sent', '10 days');
  await emails('old_sending_', 3, 'sending', '40 days');
  await emails('stale_accepting_', 2, 'accepting', '2 days');
  await emails('fresh_accepting_', 1, 'accepting', '1 hour');
  await emails('many_recent_', 20_000, 'sent', '1 day');
  await pool.query(
    `insert into webhook_endpoints (id, account, url, events, secret) values ('we_1', 'acct', 'http://127.0.0.1:9/', '{*}', 'whsec_x')`,
  );
  await pool.query(
    `insert into webhook_deliveries (endpoint_id, event_id, event_type, email_id, body, status, next_attempt_at, updated_at)
     values ('we_1', 'old_delivered', 'email.sent', 'x', '{}', 'delivered', null, now() - interval '40 days'),
            ('we_1', 'old_pending', 'email.sent', 'x', '{}', 'pending', now(), now() - interval '40 days'),
            ('we_1', 'recent_failed', 'email.sent', 'x', '{}', 'failed', null, now() - interval '1 day')`,
  );
  await pool.query(
    `insert into inbound_reports (received_at, reason, mail_from, rcpt_to, raw)
     values (now() - interval '40 days', 'unparsable', 'a@example.net', '{b@example.org}', 'x'),
            (now(), 'unparsable', 'a@example.net', '{b@example.org}', 'x')`,
  );
  await pool.query(
    `insert into parked_retries (position, topic, email_id, due_at, record, headers, released_at)
     values ('retry/0/1', 'retry', 'x', now() - interval '41 days', null, null, now() - interval '40 days'),
            ('retry/0/2', 'retry', 'x', now() - interval '2 days', null, null, now() - interval '1 day'),
            ('retry/0/3', 'retry', 'x', now() - interval '40 days', '{}', '{}', null)`,
  );
  await pool.query('analyze emails');

  const options = { retentionDays: 30, staleAcceptingMs: 86_400_000, batchSize: 1_000, pauseMs: 1 };
  // One batch's delete, in the plan the mailer's session runs (generic; session-plan.ts): the rows
  // it deletes, looked up by key, not the 20,000 recent ones (`id in (select ...)` read them all).
  const { db: recording, statements } = recordedPool(pool);
  const { plan } = await sessionPlan(pool, ...(await firstDelete(recording, options, statements)));
  const read = rowsRead(plan, 'emails');
  t.ok(read <= 2 * options.batchSize, `rows of emails read for one batch of ${options.batchSize}: ${read}`);

  const statementsBefore = statements.length;
  t.equal(await purgeExpired(recording, options), 2_500 + 3 + 2 - 1_000, 'the rest of the old final rows and the stale reservations');
  t.equal((statements.length - statementsBefore) / 4, 2, 'in batches of 1,000: two more after the first');
  const left = await pool.query<{ prefix: string; n: number }>(
    `select regexp_replace(id, '[0-9]+$', '') as prefix, count(*)::int as n from emails group by 1 order by 1`,
  );
  t.same(
    left.rows,
    [
      { prefix: 'fresh_accepting_', n: 1 },
      { prefix: 'many_recent_', n: 20_000 },
      { prefix: 'old_sending_', n: 3 },
      { prefix: 'recent_sent_', n: 5 },
    ],
    'in flight, recent and fresh rows stay',
  );
  const deliveries = await pool.query<{ event_id: string }>('select event_id from webhook_deliveries order by 1');
  t.same(
    deliveries.rows.map((r) => r.event_id),
    ['old_pending', 'recent_failed'],
    'a finished old delivery goes; one still pending stays',
  );
  const reports = await pool.query<{ n: number }>('select count(*)::int as n from inbound_reports');
  t.equal(reports.rows[0]?.n, 1, 'an old bounce report goes');
  const retries = await pool.query<{ position: string }>('select position from parked_retries order by 1');
  t.same(
    retries.rows.map((r) => r.position),
    ['retry/0/2', 'retry/0/3'],
    'an old released retry key goes; a recent one, and a parked one however overdue, stay',
  );
});

/** Runs purgeExpired for one batch of `batchSize` (the first statement) and returns it. */
async function firstDelete(
  db: Parameters<typeof purgeExpired>[0],
  options: Parameters<typeof purgeExpired>[1],
  statements: { text: string; values: unknown[] }[],
): Promise<[string, unknown[]]> {
  const abort = new AbortController();
  // Aborted in its pause after the first batch: the batch itself ran whole.
  const run = purgeExpired(db, { ...options, pauseMs: 60_000, signal: abort.signal });
  while (statements.length < 4) await new Promise((r) => setTimeout(r, 5));
  abort.abort();
  await run.catch(() => {});
  const first = statements[0]!;
  return [first.text, first.values];
}
