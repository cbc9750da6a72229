import { createLedgerPool, takeTurn } from '@postline/ledger';
import pg from 'pg';
import t, { type Test } from 'tap';
import { stackEnv } from '../../../test/helpers/env.js';

// The mailer's claims and outcomes go through createLedgerPool's sessions (so do the API's keys,
// templates and suppressions; its rows after the ack are the one asyncCommit pool). The tests
// change their database's default, so they run only on the test stack, where each file has a
// database of its own (test/helpers/env.ts).
const own = { skip: !process.env.STACK_CONTROL_URL && 'the stack is external' };
const options = { url: stackEnv().databaseUrl, applicationName: 'test', maxConnections: 1, connectTimeoutMs: 5_000, queryTimeoutMs: 5_000 };
const quiet = { warn: () => {} };

/**
 * A session on this file's database, made now (it keeps the defaults it started with), and the
 * statement that changes the database's defaults; `setting` is reset at the end of `t`.
 */
async function ownDatabase(t: Test, setting: string) {
  const admin = new pg.Client({ connectionString: options.url });
  await admin.connect();
  const name = (await admin.query<{ db: string }>('select current_database() as db')).rows[0]!.db;
  const alter = `alter database "${name}"`;
  t.teardown(async () => {
    await admin.query(`${alter} reset ${setting}`);
    await admin.end();
  });
  return { admin, alter };
}

/** What a new session runs with, raw and from each kind of pool, with the database's default set to `value` first. */
async function sessionsUnder(t: Test, value: string | null) {
  const { admin, alter } = await ownDatabase(t, 'synchronous_commit');
  await admin.query(value === null ? `${alter} reset synchronous_commit` : `${alter} set synchronous_commit = '${value}'`);
  const show = async (pool: pg.Pool) => {
    try {
      return (await pool.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0]?.synchronous_commit;
    } finally {
      await pool.end();
    }
  };
  return {
    database: await show(new pg.Pool({ connectionString: options.url, max: 1 })),
    ledger: await show(createLedgerPool(options, quiet)),
    rows: await show(createLedgerPool({ ...options, asyncCommit: true }, quiet)),
  };
}

t.test('a database set to synchronous_commit = off does not reach the ledger: claims and outcomes wait for the flush', own, async (t) => {
  // Otherwise a Postgres crash could take back a "sent" written after the SMTP 250, and the email would go again.
  t.same(await sessionsUnder(t, 'off'), { database: 'off', ledger: 'on', rows: 'off' });
});

t.test('a stronger or a local setting is kept, and the default is untouched', own, async (t) => {
  t.same(await sessionsUnder(t, 'remote_apply'), { database: 'remote_apply', ledger: 'remote_apply', rows: 'off' });
  t.same(await sessionsUnder(t, 'local'), { database: 'local', ledger: 'local', rows: 'off' });
  t.same(await sessionsUnder(t, null), { database: 'on', ledger: 'on', rows: 'off' });
});

t.test(
  'a session a failover left read-only is not kept: the write that fails drops it, and the next one runs on a new session',
  own,
  async (t) => {
    // Aurora, Patroni: for a while the address answers read-only, and the sessions made then stay so.
    // A pool that kept one would fail every write on it long after the failover (the chaos run's
    // "Postgres read-only" fault does this to the whole system).
    const { admin, alter } = await ownDatabase(t, 'default_transaction_read_only');
    const pool = createLedgerPool({ ...options, applicationName: 'postline-read-only-test', maxConnections: 2 }, quiet);
    t.teardown(() => pool.end());
    t.equal(await takeTurn(pool, 'read-only-test', 0), true, 'a write, before');

    await admin.query(`${alter} set default_transaction_read_only = on`);
    await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'postline-read-only-test'");
    let refused: unknown = null;
    for (let i = 0; i < 5 && !refused; i++) {
      // The first may meet the cut session; the pool then opens a new one, read-only.
      refused = await takeTurn(pool, 'read-only-test', 0).then(
        () => null,
        (error: { code?: string }) => (error.code === '25006' ? error : null),
      );
    }
    t.ok(refused, 'a write on a read-only session fails with 25006');

    await admin.query(`${alter} reset default_transaction_read_only`);
    t.equal(await takeTurn(pool, 'read-only-test', 0), true, 'writable again: the next write runs, on a session made after the window');
  },
);
