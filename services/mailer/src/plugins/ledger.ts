import { openLedger, purgeFinalOlderThan } from '@postline/ledger';
import { retryUntil } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { MailerConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    ledger: pg.Pool;
  }
}

/** The ledger pool; migrations at start (under a lock); hourly retention cleanup. */
export const ledgerPlugin = fp(
  async (app: FastifyInstance, { config }: { config: MailerConfig }) => {
    const pool = await openLedger(
      {
        url: config.DATABASE_URL,
        applicationName: 'postline-mailer',
        maxConnections: config.PARTITION_CONCURRENCY * config.SENDS_PER_PARTITION + 2,
        connectTimeoutMs: 5_000,
        queryTimeoutMs: 10_000,
      },
      app.log,
      (what, fn) => retryUntil(what, fn, app.log, config.BOOT_TIMEOUT_MS),
    );
    const cleanup = async () => {
      try {
        const deleted = await purgeFinalOlderThan(pool, config.LEDGER_RETENTION_DAYS);
        if (deleted > 0) app.log.info({ deleted, days: config.LEDGER_RETENTION_DAYS }, 'ledger retention cleanup');
      } catch (error) {
        app.log.warn({ err: error }, 'ledger retention cleanup failed');
      }
    };
    const timer = setInterval(cleanup, 3_600_000).unref();
    void cleanup();
    app.decorate('ledger', pool);
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await pool.end();
    });
  },
  { name: 'ledger' },
);
