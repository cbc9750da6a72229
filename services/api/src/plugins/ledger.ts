import { openLedger } from '@postline/ledger';
import { retryUntil } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { ApiConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    ledger: pg.Pool;
  }
}

/** The Postgres pool for the ledger; migrations are applied (under a lock) before the API serves. */
export const ledgerPlugin = fp(
  async (app: FastifyInstance, { config }: { config: ApiConfig }) => {
    const pool = await openLedger(
      {
        url: config.DATABASE_URL,
        applicationName: 'postline-api',
        maxConnections: 10,
        connectTimeoutMs: config.LEDGER_TIMEOUT_MS,
        queryTimeoutMs: config.LEDGER_TIMEOUT_MS,
      },
      app.log,
      (what, fn) => retryUntil(what, fn, app.log, config.BOOT_TIMEOUT_MS),
    );
    app.decorate('ledger', pool);
    app.addHook('onClose', async () => {
      await pool.end();
    });
  },
  { name: 'ledger' },
);
