import pg from 'pg';
import type { LogFn } from 'pino';

export interface LedgerOptions {
  url: string;
  applicationName: string;
  maxConnections: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  /**
   * Commit without waiting for the WAL flush (`synchronous_commit = off`): a crash of Postgres may
   * lose the last few hundred milliseconds of commits, never leaving them half done. Only for a
   * pool whose writes something else recreates (the API's rows after the ack).
   */
  asyncCommit?: boolean;
}

const PLAN_MODE = 'set plan_cache_mode = force_generic_plan';
/**
 * A server or database set to `synchronous_commit = off` (a common tuning, and some hosted presets)
 * would make every commit lose-able in a Postgres crash: a claim, or a "sent" outcome after the
 * SMTP 250, gone, and the email sent again. The services' own sessions turn it back on; a stronger
 * setting (`remote_apply`, `remote_write`) or `local` is kept.
 */
const FLUSHED_COMMITS = "select set_config('synchronous_commit', 'on', false) where current_setting('synchronous_commit') = 'off'";

/**
 * The ledger's pool. It connects lazily, so creating it never waits for Postgres; the services
 * migrate in a boot step (see Startup). An idle connection dying (Postgres restarted) is logged,
 * not thrown: the pool replaces it.
 */
export function createLedgerPool(options: LedgerOptions, log: { warn: LogFn }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    application_name: options.applicationName,
    // Generic plans for the prepared statements (prepared.ts; the only ones here): left to choose,
    // Postgres planned them on every run (measured: 1.3–1.6 ms of backend CPU for a claim and an
    // outcome, 0.9 ms with the generic plan). Set before the pool hands the connection out; if it
    // fails, the statements still run, planned per run.
    onConnect: (client) =>
      client.query(`${PLAN_MODE}; ${options.asyncCommit ? 'set synchronous_commit = off' : FLUSHED_COMMITS}`).then(
        () => {},
        (error: Error) => log.warn({ err: error }, 'ledger session settings not set'),
      ),
  });
  pool.on('error', (error) => log.warn({ err: error }, 'ledger connection lost'));
  return pool;
}
