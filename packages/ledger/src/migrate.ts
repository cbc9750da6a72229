import type pg from 'pg';
import type { LogFn } from 'pino';
import { MIGRATIONS } from './migrations.js';

/** Any constant shared by every service: the advisory lock that serialises migrations. */
// As text: Postgres reads it as a bigint; a JS number this large would lose precision.
const MIGRATION_LOCK = '8029764587520462'; // "postline" ledger migrations

/**
 * Applies the migrations not applied yet, each in its own transaction, under a session-level
 * advisory lock so that mailers and APIs starting together do not race.
 */
export async function migrate(pool: pg.Pool, log: { info: LogFn }): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`create table if not exists schema_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ version: number }>('select version from schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query('begin');
      try {
        await client.query(m.sql);
        await client.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw error;
      }
      log.info({ version: m.version, migration: m.name }, 'migration applied');
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
