import type pg from 'pg';

/**
 * A statement every email or request runs, prepared once per connection: unnamed, Postgres parsed
 * and planned it on each run, which cost more of its CPU than running it (a claim and an outcome of
 * two emails: 1.8–2.2 ms of backend CPU unnamed, 0.9 ms prepared with a generic plan; see
 * docs/benchmarks.md). The pool plans these statements generically (createLedgerPool): each looks
 * its rows up by key (a batch through `unnest`), so its best plan does not depend on the values.
 *
 * Only statements whose result columns are listed (no `select *` at the top): a migration that
 * alters a table invalidates the cached plan, and Postgres refuses a cached statement whose result
 * type changed. Behind PgBouncer in transaction mode, set its `max_prepared_statements` (1.21+).
 */
export function prepared(name: string, text: string): (values: unknown[]) => pg.QueryConfig {
  const statement = { name: `postline.${name}`, text };
  return (values) => ({ ...statement, values });
}
