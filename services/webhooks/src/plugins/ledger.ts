import { createLedgerPool, migrate } from '@postline/ledger';
import { retryUntil } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { WebhooksConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    ledger: pg.Pool;
  }
}

/** The ledger pool (deliveries and endpoints live there); migrations as a boot step, under their lock. */
export const ledgerPlugin = fp(
  async (app: FastifyInstance, { config }: { config: WebhooksConfig }) => {
    const pool = createLedgerPool(
      {
        url: config.DATABASE_URL,
        applicationName: 'postline-webhooks',
        maxConnections: config.DATABASE_POOL_SIZE,
        connectTimeoutMs: 5_000,
        queryTimeoutMs: 10_000,
      },
      app.log,
    );
    void app.startup.step('ledger', (signal) =>
      retryUntil('ledger migrations', () => migrate(pool, app.log), app.log, config.BOOT_TIMEOUT_MS, signal),
    );
    app.decorate('ledger', pool);
    app.addHook('onClose', async () => {
      await app.shutdown.closePools('ledger pool', pool);
    });
  },
  { name: 'ledger', dependencies: ['startup', 'shutdown'] },
);
