import { ConfigError } from '@postline/runtime';
import pg from 'pg';
import type { LogFn } from 'pino';
import { missingGrants } from './ledger-grants.js';
import { MIGRATIONS } from './migrations.js';
import { inTransaction, type Queryable } from './transaction.js';

/** Any constant shared by every service: the advisory lock that serialises migrations. */
// As text: Postgres reads it as a bigint; a JS number this large would lose precision.
const MIGRATION_LOCK = '8029764587520462'; // "postline" ledger migrations

const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Brings the ledger to this release's schema, then checks that DATABASE_URL's user may read and
 * write every table of it. A ledger that is already there is asked nothing that needs more than
 * that (no lock, no DDL): the services may run as a user of least privilege once `postline
 * migrate` has run as the tables' owner (README, "A database user of least privilege").
 *
 * Each pending migration is a transaction of its own, under a transaction-level advisory lock and
 * checked again once the lock is held: services starting together apply each migration once, and
 * no lock outlives its transaction. The session-level lock this replaced failed behind a pooler in
 * transaction mode (PgBouncer), where each statement may run on another server session: a second
 * service's lock landed on the holder's session and was granted, and both ran a migration
 * (measured: `relation "emails" already exists`); an unlock on the wrong session leaves a lock held.
 */
export async function migrate(pool: pg.Pool, log: { info: LogFn }): Promise<number[]> {
  const pending = await pendingMigrations(pool).catch(async (error: unknown) => {
    // A ledger there but not granted: schema_migrations is the first table this user may not read.
    if (isPrivilegeError(error)) await assertGrants(pool);
    throw error;
  });
  const applied: number[] = [];
  for (const m of pending) {
    const done = await inTransaction(pool, async (client) => {
      await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      // Not to_regclass() first: it reads this session's catalog cache, which may predate the
      // commit of the service that held the lock (measured: "already exists" when five started).
      await client.query(`create table if not exists schema_migrations (
        version integer primary key, name text not null, applied_at timestamptz not null default now())`);
      const { rowCount } = await client.query('select 1 from schema_migrations where version = $1', [m.version]);
      if (rowCount) return false; // another service applied it while this one waited for the lock
      await client.query(m.sql);
      await client.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
      return true;
    }).catch((error: unknown) => {
      throw refusal(error, pending.length) ?? error;
    });
    if (!done) continue;
    log.info({ version: m.version, migration: m.name }, 'migration applied');
    applied.push(m.version);
  }
  await assertGrants(pool);
  return applied;
}

/**
 * `postline migrate` and the images' `node packages/ledger/dist/migrate-main.js`: the ledger at
 * `url` brought to this release's schema on one connection of its own (run as the tables' owner).
 */
export async function migrateDatabase(url: string): Promise<{ applied: number[]; version: number | undefined }> {
  const db = new pg.Pool({ connectionString: url, max: 1, application_name: 'postline-migrate' });
  try {
    const applied = await migrate(db, { info: () => {} });
    return { applied, version: MIGRATIONS.at(-1)?.version };
  } finally {
    await db.end();
  }
}

async function assertGrants(db: Queryable): Promise<void> {
  const missing = await missingGrants(db);
  if (missing.length === 0) return;
  throw new ConfigError(
    `DATABASE_URL's user may not read and write the whole ledger (${missing.join(', ')}): grant it select, insert, update and delete on the ledger's tables and usage on its sequences, as the README's "A database user of least privilege" shows`,
  );
}

const isPrivilegeError = (error: unknown) => (error as { code?: string }).code === INSUFFICIENT_PRIVILEGE;

/** The migrations this ledger has not applied, read without a lock or DDL. */
async function pendingMigrations(db: Queryable): Promise<typeof MIGRATIONS> {
  const { rows } = await db.query<{ exists: boolean }>("select to_regclass('schema_migrations') is not null as exists");
  if (!rows[0]?.exists) return MIGRATIONS;
  const done = new Set((await db.query<{ version: number }>('select version from schema_migrations')).rows.map((r) => r.version));
  return MIGRATIONS.filter((m) => !done.has(m.version));
}

/** A user that may not change the schema: one sentence saying who may, instead of a boot retried until it times out. */
function refusal(error: unknown, pending: number): ConfigError | null {
  if (!isPrivilegeError(error)) return null;
  return new ConfigError(
    `the ledger needs ${pending} migration${pending === 1 ? '' : 's'} and DATABASE_URL's user may not apply them (Postgres: ${(error as Error).message}): run \`postline migrate\` (in an image: \`node packages/ledger/dist/migrate-main.js\`) once with the DATABASE_URL of the schema's owner (a deploy step), or let this user create tables in the schema`,
  );
}
