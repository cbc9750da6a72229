import { MIGRATIONS, migrate } from '@postline/ledger';
import { ConfigError } from '@postline/runtime';
import pg from 'pg';
import t, { type Test } from 'tap';
import { stackEnv, uniqueName } from '../../../test/helpers/env.js';
import { startPgBouncer } from '../../../test/helpers/pgbouncer.js';

// Every service migrates the ledger as it boots (the API, the mailer, the dispatcher). The tests
// make roles, which belong to the whole cluster, so they run only on the test stack.
const own = { skip: !process.env.STACK_CONTROL_URL && 'the stack is external' };
const quiet = { info: () => {} };
const LOCK = '8029764587520462';

/** A schema of the test's own, and a pool on it as `user` (the test's superuser unless given). */
async function schema(t: Test, owner?: string) {
  const name = uniqueName('migrate').replace(/[^a-z0-9_]/gi, '_');
  const admin = new pg.Pool({ connectionString: stackEnv().databaseUrl, max: 2 });
  t.teardown(async () => {
    await admin.query(`drop schema if exists ${name} cascade`);
    await admin.end();
  });
  await admin.query(`create schema ${name}${owner ? ` authorization ${owner}` : ''}`);
  const pool = (user?: string) => {
    const url = new URL(stackEnv().databaseUrl);
    if (user) [url.username, url.password] = [user, 'pw'];
    url.searchParams.set('options', `-c search_path=${name}`);
    const p = new pg.Pool({ connectionString: url.href, max: 2 });
    t.teardown(() => p.end());
    return p;
  };
  return { name, admin, pool };
}

async function role(t: Test, admin: pg.Pool, prefix: string): Promise<string> {
  const name = uniqueName(prefix).replace(/[^a-z0-9_]/gi, '_');
  await admin.query(`create role ${name} login password 'pw'`);
  // After the schema's teardown (tap runs teardowns last first): nothing of the role is left then.
  t.teardown(async () => {
    const cleanup = new pg.Client(stackEnv().databaseUrl);
    await cleanup.connect();
    await cleanup.query(`drop owned by ${name}`);
    await cleanup.query(`drop role ${name}`);
    await cleanup.end();
  });
  return name;
}

t.test('services booting together on an empty ledger apply each migration once, and hold no lock afterwards', own, async (t) => {
  const { admin, pool } = await schema(t);
  const results = await Promise.all(Array.from({ length: 5 }, () => migrate(pool(), quiet)));
  const applied = results.flat().sort((a, b) => a - b);
  t.same(
    applied,
    MIGRATIONS.map((m) => m.version),
    'every version applied by exactly one of them',
  );
  t.same(await migrate(pool(), quiet), [], 'the next boot finds nothing to do');
  const locks = await admin.query(
    // In this file's database: advisory locks are per database, and other files migrate theirs meanwhile.
    `select 1 from pg_locks where locktype = 'advisory' and ((classid::bigint << 32) | objid::bigint) = $1::bigint
       and database = (select oid from pg_database where datname = current_database())`,
    [LOCK],
  );
  t.equal(locks.rowCount, 0, 'the migration lock is not held by any session');
});

t.test('a user of least privilege: refused at once with what to run, then at home once the owner migrated and granted', own, async (t) => {
  const su = new pg.Pool({ connectionString: stackEnv().databaseUrl, max: 1 });
  t.teardown(() => su.end());
  const owner = await role(t, su, 'owner');
  const app = await role(t, su, 'app');
  const { name, admin, pool } = await schema(t, owner);
  await admin.query(`grant usage on schema ${name} to ${app}`);

  // Postgres 15 and later let only a schema's owner create in it: the app's user may not migrate.
  const refused = await migrate(pool(app), quiet).then(
    () => null,
    (error: unknown) => error,
  );
  t.type(refused, ConfigError, 'a ConfigError: the boot step is not retried until it times out');
  t.match((refused as Error).message, `the ledger needs ${MIGRATIONS.length} migrations and DATABASE_URL's user may not apply them`);
  t.match(
    (refused as Error).message,
    /permission denied for schema .*run `postline migrate` \(in an image: `node packages\/ledger\/dist\/migrate-main\.js`\) once with the DATABASE_URL of the schema's owner/,
  );
  t.equal((await admin.query(`select to_regclass('${name}.emails') as t`)).rows[0].t, null, 'nothing was created');

  t.equal((await migrate(pool(owner), quiet)).length, MIGRATIONS.length, "the owner's migrate applies them all");

  // Migrated, but nothing granted: said at boot, table by table, not at the first email.
  const ungranted = await migrate(pool(app), quiet).then(
    () => null,
    (error: unknown) => error,
  );
  t.type(ungranted, ConfigError);
  const tables = (await admin.query<{ t: string }>(`select tablename as t from pg_tables where schemaname = '${name}'`)).rows;
  t.ok(tables.length >= 13, 'the ledger has its tables');
  for (const { t: table } of tables) t.match((ungranted as Error).message, `select, insert, update, delete on table ${table}`);
  t.match((ungranted as Error).message, /usage on sequence .*email_events_seq_seq/);

  // One table left out is named alone.
  await admin.query(`grant select, insert, update, delete on all tables in schema ${name} to ${app}`);
  await admin.query(`grant usage on all sequences in schema ${name} to ${app}`);
  await admin.query(`revoke delete on ${name}.suppressions from ${app}`);
  const one = await migrate(pool(app), quiet).then(
    () => null,
    (error: unknown) => (error as Error).message,
  );
  t.match(one, `may not read and write the whole ledger (select, insert, update, delete on table suppressions)`);

  await admin.query(`grant delete on ${name}.suppressions to ${app}`);
  t.same(await migrate(pool(app), quiet), [], 'granted: the boot goes on, asking for no more than reading and writing');
});

t.test('behind PgBouncer in transaction mode (each statement on any server session): each migration once, no lock left', own, async (t) => {
  const su = new pg.Pool({ connectionString: stackEnv().databaseUrl, max: 1 });
  t.teardown(() => su.end());
  const database = uniqueName('pooled')
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase();
  await su.query(`create database ${database}`);
  t.teardown(() => su.query(`drop database if exists ${database} with (force)`));
  const direct = new URL(stackEnv().databaseUrl);
  direct.pathname = `/${database}`;
  // Three server sessions for five services: their statements interleave on them.
  const bouncer = await startPgBouncer(t, direct.href, 3);
  const pools = Array.from({ length: 5 }, () => {
    const pool = new pg.Pool({ connectionString: bouncer.url, max: 2 });
    t.teardown(() => pool.end());
    return pool;
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`not done in 60 s: ${bouncer.output().slice(-1_000)}`)), 60_000).unref(),
  );
  const results = await Promise.race([Promise.all(pools.map((pool) => migrate(pool, quiet))), timeout]);
  t.same(
    results.flat().sort((a, b) => a - b),
    MIGRATIONS.map((m) => m.version),
    'every version applied by exactly one of them',
  );
  t.same(await Promise.race([migrate(pools[0]!, quiet), timeout]), [], 'the next boot finds nothing to do, through the pooler too');
  const locks = await su.query(
    `select 1 from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = $1)`,
    [database],
  );
  t.equal(locks.rowCount, 0, 'no server session holds an advisory lock');
});
