import { type AcceptedRow, createLedgerPool, migrate, recordAccepted, type SuppressionLookup, suppressedAmong } from '@postline/ledger';
import { MicroBatcher, ResultBatcher, retryUntil, withTimeout } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { ApiConfig } from '../config.js';

export type AcceptedEmail = AcceptedRow;

declare module 'fastify' {
  interface FastifyInstance {
    ledger: pg.Pool;
    /** Records emails as `queued` (or `scheduled`); concurrent calls share one insert. */
    recordAccepted(emails: AcceptedEmail[]): Promise<void>;
    /** Which of the addresses are on the account's suppression list; concurrent calls share one query. */
    suppressedAmong(account: string, addresses: string[]): Promise<string[]>;
  }
}

/** The Postgres pool for the ledger; migrations are applied (under a lock) as a boot step: the API is not ready before. */
export const ledgerPlugin = fp(
  async (app: FastifyInstance, { config }: { config: ApiConfig }) => {
    const pool = createLedgerPool(
      {
        url: config.DATABASE_URL,
        applicationName: 'postline-api',
        maxConnections: 10,
        connectTimeoutMs: config.LEDGER_TIMEOUT_MS,
        queryTimeoutMs: config.LEDGER_TIMEOUT_MS,
      },
      app.log,
    );
    void app.startup.step('ledger', (signal) =>
      retryUntil('ledger migrations', () => migrate(pool, app.log), app.log, config.BOOT_TIMEOUT_MS, signal),
    );
    // One insert per request was the API's largest CPU cost under load (profiled: the loopback
    // writes of ~one query per 202); while an insert runs, the next ones gather into one, and so do
    // the rows of one produce's requests (sameTurn).
    const inserts = new MicroBatcher<AcceptedEmail>((emails) => recordAccepted(pool, emails), {
      lingerMs: 0,
      sameTurn: true,
      maxBatch: 1_000,
      maxInFlight: 2,
      timeoutMs: config.LEDGER_TIMEOUT_MS,
    });
    // The same for the suppression look-up every send makes (read alongside the produce).
    const lookups = new ResultBatcher((items: SuppressionLookup[]) => suppressedAmong(pool, items), {
      lingerMs: 0,
      sameTurn: true,
      maxBatch: 1_000,
      maxInFlight: 2,
      timeoutMs: config.LEDGER_TIMEOUT_MS,
    });
    app.decorate('ledger', pool);
    app.decorate('suppressedAmong', async (account: string, addresses: string[]) =>
      addresses.length === 0 ? [] : lookups.run({ account, addresses }),
    );
    app.decorate('recordAccepted', (emails: AcceptedEmail[]) => inserts.enqueue(emails));
    app.addHook('onClose', async () => {
      await withTimeout(Promise.all([inserts.drain(), lookups.drain()]), config.LEDGER_TIMEOUT_MS, 'ledger inserts').catch(() => {});
      await pool.end();
    });
  },
  { name: 'ledger', dependencies: ['startup'] },
);
