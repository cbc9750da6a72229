import { createLedgerPool, migrate, purgeExpired, takeTurn, verpKey } from '@postline/ledger';
import { retryUntil } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { MailerConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    ledger: pg.Pool;
    /** The VERP key (contracts' verpTag()): read with the migrations, so before the consumer starts. */
    verpKey(): Buffer | null;
  }
}

const PURGE_EVERY_MS = 3_600_000;

/**
 * The ledger pool; migrations as a boot step (under a lock); the retention purge, run by one
 * mailer per hour however many there are.
 */
export const ledgerPlugin = fp(
  async (app: FastifyInstance, { config }: { config: MailerConfig }) => {
    const pool = createLedgerPool(
      {
        url: config.DATABASE_URL,
        applicationName: 'postline-mailer',
        maxConnections: config.DATABASE_POOL_SIZE,
        connectTimeoutMs: 5_000,
        queryTimeoutMs: 10_000,
      },
      app.log,
    );
    let key: Buffer | null = null;
    const migrated = app.startup.step('ledger', (signal) =>
      retryUntil(
        'ledger migrations',
        async () => {
          await migrate(pool, app.log);
          key = await verpKey(pool);
        },
        app.log,
        config.BOOT_TIMEOUT_MS,
        signal,
      ),
    );
    const stop = new AbortController();
    let running: Promise<void> | null = null;
    const purge = async () => {
      try {
        if (!(await takeTurn(pool, 'retention-purge', PURGE_EVERY_MS))) return;
        const deleted = await purgeExpired(pool, {
          retentionDays: config.LEDGER_RETENTION_DAYS,
          staleAcceptingMs: 86_400_000,
          batchSize: 1_000,
          pauseMs: 100,
          signal: stop.signal,
        });
        if (deleted > 0) app.log.info({ deleted, days: config.LEDGER_RETENTION_DAYS }, 'ledger retention purge');
      } catch (error) {
        if (!stop.signal.aborted) app.log.warn({ err: error }, 'ledger retention purge failed');
      }
    };
    const runPurge = () => {
      if (!running) running = purge().finally(() => (running = null));
    };
    const timer = setInterval(runPurge, PURGE_EVERY_MS).unref();
    migrated.then(runPurge, () => {});
    app.decorate('ledger', pool);
    app.decorate('verpKey', () => key);
    app.addHook('onClose', async () => {
      clearInterval(timer);
      stop.abort();
      await running;
      await app.shutdown.closePools('ledger pool', pool);
    });
  },
  { name: 'ledger', dependencies: ['startup', 'shutdown'] },
);
