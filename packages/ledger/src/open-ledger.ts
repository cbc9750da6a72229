import pg from 'pg';
import type { LogFn } from 'pino';

export interface LedgerOptions {
  url: string;
  applicationName: string;
  maxConnections: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

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
  });
  pool.on('error', (error) => log.warn({ err: error }, 'ledger connection lost'));
  return pool;
}
