import { migrate } from '@postline/ledger';
import { retryUntil } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import pg from 'pg';
import type { ApiConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    ledger: pg.Pool;
  }
}

/** The Postgres pool for the ledger; migrations are applied (under a lock) before the API serves. */
export const ledgerPlugin = fp(
  async (app: FastifyInstance, { config }: { config: ApiConfig }) => {
    const pool = new pg.Pool({
      connectionString: config.DATABASE_URL,
      max: 10,
      connectionTimeoutMillis: config.LEDGER_TIMEOUT_MS,
      query_timeout: config.LEDGER_TIMEOUT_MS,
      application_name: 'postline-api',
    });
    // An idle client's connection dying (Postgres restarted) must not crash the process.
    pool.on('error', (error) => app.log.warn({ err: error }, 'ledger connection lost'));
    await retryUntil('ledger migrations', () => migrate(pool, app.log), app.log, config.BOOT_TIMEOUT_MS);
    app.decorate('ledger', pool);
    app.addHook('onClose', async () => {
      await pool.end();
    });
  },
  { name: 'ledger' },
);
