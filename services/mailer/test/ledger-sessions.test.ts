import { createLedgerPool } from '@postline/ledger';
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

/** What a new session runs with, raw and from each kind of pool, with the database's default set to `value` first. */
async function sessionsUnder(t: Test, value: string | null) {
  const admin = new pg.Client({ connectionString: options.url });
  await admin.connect();
  const name = (await admin.query<{ db: string }>('select current_database() as db')).rows[0]!.db;
  const alter = `alter database "${name}"`;
  t.teardown(async () => {
    await admin.query(`${alter} reset synchronous_commit`);
    await admin.end();
  });
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
