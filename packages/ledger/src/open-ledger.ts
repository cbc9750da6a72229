import pg from 'pg';
import type { LogFn } from 'pino';
import { migrate } from './migrate.js';

export interface LedgerOptions {
  url: string;
  applicationName: string;
  maxConnections: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

/**
 * The ledger's pool, migrated. An idle connection dying (Postgres restarted) is logged, not
 * thrown: the pool replaces it. `retry` runs the migration as a boot step (see retryUntil).
 */
export async function openLedger(
  options: LedgerOptions,
  log: { info: LogFn; warn: LogFn },
  retry: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
): Promise<pg.Pool> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    application_name: options.applicationName,
  });
  pool.on('error', (error) => log.warn({ err: error }, 'ledger connection lost'));
  await retry('ledger migrations', () => migrate(pool, log));
  return pool;
}
