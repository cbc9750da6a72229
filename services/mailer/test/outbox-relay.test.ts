import { type EmailEvent, emailEvent, queuedEvent } from '@postline/contracts';
import { claimMany, MIGRATIONS, migrate, OUTBOX_RELAY_LOCK, recordOutcomes, relayOutbox } from '@postline/ledger';
import pg from 'pg';
import t from 'tap';
import { stackEnv } from '../../../test/helpers/env.js';
import { envelope, ledgerPool, servicePool } from '../../../test/helpers/mailer.js';
import { rowsRead, scans, sessionPlan } from '../../../test/helpers/session-plan.js';

// The real ledger's outbox (this file's own database: no mailer here relays it). Every event
// written is queued in event_outbox by the statement that writes it, and leaves it only once
// published.

const position = { topic: 'emails', partition: 0, offset: '1' };

/** Claims a new email (its `queued` event) and records it sent (its `email.sent` event). */
async function sentEmail(pool: pg.Pool) {
  const e = envelope();
  const queued = queuedEvent(e);
  await claimMany(pool, 'mailer-a', 60_000, [{ id: e.id, account: e.account, position, queued, recipients: ['a@example.net'] }]);
  const sent = emailEvent(e.account, 'email.sent', { emailId: e.id, smtpResponse: '250 ok', final: true }, new Date());
  await recordOutcomes(pool, 'mailer-a', [{ id: e.id, account: e.account, state: 'sent', outcome: { events: [sent] } }]);
  return { e, queued };
}

const outboxSize = async (pool: pg.Pool) => (await pool.query<{ n: number }>('select count(*)::int as n from event_outbox')).rows[0]?.n;

/** Runs rounds of `limit` until one settles nothing; every published event, in order. */
async function drain(pool: pg.Pool, limit: number) {
  const published: EmailEvent[] = [];
  let rounds = 0;
  while ((await relayOutbox(pool, limit, async (events) => void published.push(...events))) > 0) rounds++;
  return { published, rounds };
}

/**
 * `pool`, whose checked-out clients record every statement (a round is one transaction on a client
 * of its own, which a pool-level proxy does not see). `restore` puts the clients' query back.
 */
function recordingClients(pool: pg.Pool) {
  const statements: { text: string; values?: unknown[] }[] = [];
  const patched: (() => void)[] = [];
  const recording = new Proxy(pool, {
    get(target, key) {
      if (key !== 'connect') return Reflect.get(target, key).bind(target);
      return async () => {
        const client = await target.connect();
        const query = client.query;
        const record = (...args: [string, unknown[]?]) => {
          statements.push({ text: args[0], values: args[1] });
          return (query as (...a: unknown[]) => unknown).apply(client, args);
        };
        Object.assign(client, { query: record });
        patched.push(() => Object.assign(client, { query }));
        return client;
      };
    },
  });
  const restore = () => {
    for (const undo of patched) undo();
  };
  return { recording, statements, restore };
}

t.test('every event written is published once, in the order written, and then leaves the outbox', async (t) => {
  const pool = ledgerPool(t);
  await drain(pool, 500); // whatever an earlier test left
  // The seqs cross a power of ten in one round (…98, 99, 100…): in text order 100 comes before 99.
  await pool.query(
    `select setval(pg_get_serial_sequence('email_events', 'seq'),
       power(10, length((select coalesce(max(seq), 0) from email_events)::text) + 1)::bigint - 3)`,
  );
  const emails = [await sentEmail(pool), await sentEmail(pool), await sentEmail(pool)];
  // A redelivery's claim writes its `queued` event again: the same id, so neither a row nor an entry.
  const [first] = emails;
  if (!first) throw new Error('no email');
  await claimMany(pool, 'mailer-a', 60_000, [
    { id: first.e.id, account: first.e.account, position, queued: first.queued, recipients: ['a@example.net'] },
  ]);
  t.equal(await outboxSize(pool), 6, 'two events an email, each queued once');
  const { rows: written } = await pool.query<{ id: string }>('select id from email_events where email_id = any($1) order by seq', [
    emails.map((x) => x.e.id),
  ]);
  const { published, rounds } = await drain(pool, 5);
  t.equal(rounds, 2, 'rounds of at most 5');
  t.same(
    published.map((e) => e.id),
    written.map((r) => r.id),
    'all of them, in the order they were written',
  );
  t.equal(published[0]?.type, 'email.queued');
  t.equal(published[0]?.data.emailId, first.e.id, 'with their payload');
  t.equal(await outboxSize(pool), 0, 'the outbox is empty');
  t.equal((await drain(pool, 4)).published.length, 0, 'and nothing is published again');
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from email_events where email_id = any($1)', [
    emails.map((x) => x.e.id),
  ]);
  t.equal(rows[0]?.n, 6, 'the event log keeps them');
});

t.test('a publish that fails leaves its events in the outbox; the next round publishes them', async (t) => {
  const pool = ledgerPool(t);
  await drain(pool, 500);
  const { e } = await sentEmail(pool);
  const failing = relayOutbox(pool, 500, async () => {
    throw new Error('brokers unreachable');
  });
  await t.rejects(failing, /brokers unreachable/);
  t.equal(await outboxSize(pool), 2, 'both events still queued');
  const { published } = await drain(pool, 500);
  t.same(
    published.map((x) => [x.type, x.data.emailId]),
    [
      ['email.queued', e.id],
      ['email.sent', e.id],
    ],
  );
});

t.test('an event purged with its email leaves its entry, which the relay drops unpublished', async (t) => {
  const pool = ledgerPool(t);
  await drain(pool, 500);
  const gone = await sentEmail(pool);
  const kept = await sentEmail(pool);
  await pool.query('delete from emails where id = $1', [gone.e.id]); // retention: its events go with it (cascade)
  t.equal(await outboxSize(pool), 4, 'the purged email’s entries are still there');
  const { published } = await drain(pool, 500);
  t.same(
    published.map((x) => x.data.emailId),
    [kept.e.id, kept.e.id],
    'only the kept email’s events',
  );
  t.equal(await outboxSize(pool), 0, 'and no entry is left behind');
});

t.test('while another relay holds the lock, a round does nothing', async (t) => {
  const pool = ledgerPool(t);
  await drain(pool, 500);
  await sentEmail(pool);
  const other = await pool.connect();
  await other.query('select pg_advisory_lock($1)', [OUTBOX_RELAY_LOCK]);
  t.teardown(() => other.release());
  let calls = 0;
  t.equal(await relayOutbox(pool, 500, async () => void calls++), 0);
  t.equal(calls, 0, 'nothing published');
  t.equal(await outboxSize(pool), 2, 'nothing taken out');
  await other.query('select pg_advisory_unlock($1)', [OUTBOX_RELAY_LOCK]);
  t.equal((await drain(pool, 500)).published.length, 2, 'published once the lock is free');
});

t.test('a round reads the event log by primary key, even on the outbox table’s stale statistics', async (t) => {
  const pool = ledgerPool(t);
  await drain(pool, 500);
  // A large event log whose statistics Postgres has, and an outbox last analyzed when empty that
  // now holds a round's worth: the bench's case, where joined they planned a scan of the log.
  const payload = JSON.stringify({
    type: 'email.sent',
    created_at: new Date().toISOString(),
    data: { emailId: 'x'.repeat(40), to: ['a@example.net'] },
  });
  await pool.query(`insert into emails (id, account, state) select 'bulk_' || g, 'acct', 'sent' from generate_series(1, 20000) g`);
  await pool.query(
    `insert into email_events (id, email_id, account, type, payload)
     select 'bulk_ev_' || g || '_' || k, 'bulk_' || g, 'acct', 'email.sent', $1::jsonb from generate_series(1, 20000) g, generate_series(1, 3) k`,
    [payload],
  );
  await pool.query('delete from event_outbox');
  await pool.query('vacuum analyze event_outbox');
  await pool.query('analyze email_events');
  await pool.query(`insert into event_outbox (seq) select seq from email_events where email_id like 'bulk_%' order by seq desc limit 500`);
  // Every statement the round runs, with its parameters, to ask Postgres how it plans each one,
  // on a pool built as the mailer builds its own (its sessions plan generically; session-plan.ts).
  const session = servicePool(t);
  const { recording, statements, restore } = recordingClients(session);
  t.equal((await drain(recording, 500)).published.length, 500, 'the round publishes them');
  restore();
  // Planned without the round's `set local enable_seqscan = off` (the next test replays it): with
  // sequential scans left on, the event log must be read by key on its own merits, not by default.
  const plans: string[][] = [];
  for (const s of statements.filter((x) => /email_events/.test(x.text))) {
    const { mode, plan } = await sessionPlan(session, s.text, s.values);
    t.equal(mode, 'force_generic_plan', "planned as in the mailer's sessions");
    plans.push(scans(plan));
  }
  t.ok(plans.length > 0, 'the round read the event log');
  t.notOk(plans.flat().includes('Seq Scan on email_events'), `no statement scans the whole event log: ${JSON.stringify(plans)}`);
});

t.test('after a backlog, a round reads the head of the outbox by its index, not every page the backlog left', async (t) => {
  const pool = ledgerPool(t);
  await drain(pool, 500);
  // A backlog of 200,000 (seqs far above any event's: the round finds no event for them and drops
  // them, as for an event purged with its email), published but for its last 1,000, and vacuumed:
  // the table and its index keep their pages. Planned on those sizes, the round's read of the
  // queue's head was a scan of every page and a sort of what was left.
  const base = 1_000_000_000_000;
  await pool.query('insert into event_outbox (seq) select $1::bigint + g from generate_series(1, 200000) g', [base]);
  await pool.query('delete from event_outbox where seq <= $1::bigint + 199000', [base]);
  await pool.query('vacuum analyze event_outbox');
  const session = servicePool(t);
  const { recording, statements, restore } = recordingClients(session);
  t.equal(await relayOutbox(recording, 500, async () => void t.fail('no event to publish')), 500, 'the round settles 500 of the 1,000');
  restore();
  const at = statements.findIndex((s) => /from event_outbox/.test(s.text) && !/^delete/.test(s.text));
  t.ok(at > 0, 'the round read the outbox');
  // Replayed with what the round ran before it in its transaction (its planner setting).
  const { mode, plan } = await sessionPlan(session, statements[at]!.text, statements[at]!.values, statements.slice(1, at));
  t.equal(mode, 'force_generic_plan', "planned as in the mailer's sessions");
  const read = scans(plan).filter((s) => s.endsWith(' on event_outbox'));
  t.same(read, ['Index Only Scan on event_outbox'], 'the queue is read by its index');
  t.equal(rowsRead(plan, 'event_outbox'), 500, 'only the round’s rows');
  t.equal((await drain(pool, 500)).published.length, 0, 'the rest settled too');
  t.equal(await outboxSize(pool), 0);
});

t.test('the migration to the outbox table queues the events the previous version had not published', async (t) => {
  // A ledger of the previous version, in a schema of its own.
  const schema = `outbox_migration_${process.pid}`;
  const admin = ledgerPool(t);
  await admin.query(`create schema ${schema}`);
  t.teardown(() => admin.query(`drop schema ${schema} cascade`));
  const pool = new pg.Pool({ connectionString: stackEnv().databaseUrl, max: 1, options: `-c search_path=${schema}` });
  t.teardown(() => pool.end());
  await pool.query(
    'create table schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())',
  );
  for (const m of MIGRATIONS.filter((x) => x.version < 7)) {
    await pool.query(m.sql);
    await pool.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
  }
  await pool.query(`insert into emails (id, account, state) values ('em_1', 'acct', 'sent')`);
  await pool.query(
    `insert into email_events (id, email_id, account, type, payload, published_at) values
       ('ev_1', 'em_1', 'acct', 'email.queued', '{}', now()),
       ('ev_2', 'em_1', 'acct', 'email.sent', '{}', null),
       ('ev_3', 'em_1', 'acct', 'email.delivered', '{}', null)`,
  );
  t.same(
    await migrate(pool, { info() {} }),
    MIGRATIONS.filter((x) => x.version >= 7).map((x) => x.version),
    'only the migrations after version 6 run, 7 first',
  );
  const { rows } = await pool.query<{ id: string }>('select e.id from event_outbox join email_events e using (seq) order by seq');
  t.same(
    rows.map((r) => r.id),
    ['ev_2', 'ev_3'],
    'the unpublished events are queued, the published one is not',
  );
  const { rows: columns } = await pool.query(
    `select 1 from information_schema.columns where table_schema = $1 and table_name = 'email_events' and column_name = 'published_at'`,
    [schema],
  );
  t.equal(columns.length, 0, 'published_at is gone: a relay of the previous version fails instead of publishing all again');
  const { rows: keys } = await pool.query<{ key: string }>('select key from verp_key');
  t.match(keys, [{ key: /^[0-9a-f]{64}$/ }], 'migration 8: one VERP key, 64 hex digits of two gen_random_uuid()');
});
