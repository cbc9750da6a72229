import {
  type AcceptedRequest,
  type AcceptedRow,
  createLedgerPool,
  migrate,
  recordAccepted,
  type SuppressionLookup,
} from '@postline/ledger';
import { ResultBatcher, retryUntil, withTimeout } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { ApiConfig } from '../config.js';

export type AcceptedEmail = AcceptedRow;

declare module 'fastify' {
  interface FastifyInstance {
    ledger: pg.Pool;
    /**
     * After Kafka's ack: records the emails as `queued` (or `scheduled`) and answers which of the
     * lookup's addresses are on its account's suppression list. Concurrent calls share one statement.
     */
    recordAccepted(emails: AcceptedEmail[], lookup: SuppressionLookup): Promise<string[]>;
  }
}

/** The Postgres pool for the ledger; migrations are applied (under a lock) as a boot step: the API is not ready before. */
export const ledgerPlugin = fp(
  async (app: FastifyInstance, { config }: { config: ApiConfig }) => {
    const options = { url: config.DATABASE_URL, connectTimeoutMs: config.LEDGER_TIMEOUT_MS, queryTimeoutMs: config.LEDGER_TIMEOUT_MS };
    const pool = createLedgerPool({ ...options, applicationName: 'postline-api', maxConnections: config.DATABASE_POOL_SIZE }, app.log);
    // The rows written after Kafka's ack commit without waiting for the WAL flush. They are best
    // effort by design: the email is safe in Kafka, and a mailer's claim writes its row and its
    // `queued` event when they are missing, so a crash of Postgres costs at most a status lookup
    // that finds nothing until then. Waiting for the flush was half of those inserts' time, and
    // the insert is on every 202's path (docs/benchmarks.md, G1). A connection for each insert in
    // flight. Everything a client is told is saved (keys, templates, webhooks,
    // suppressions) goes through `pool`, which waits for the flush.
    const rowsPool = createLedgerPool(
      { ...options, applicationName: 'postline-api-rows', maxConnections: INSERTS_IN_FLIGHT, asyncCommit: true },
      app.log,
    );
    void app.startup.step('ledger', (signal) =>
      retryUntil('ledger migrations', () => migrate(pool, app.log), app.log, config.BOOT_TIMEOUT_MS, signal),
    );
    // One statement per request was the API's largest CPU cost under load (profiled: the loopback
    // writes of ~one query per 202); while one runs, the next requests gather into one, and so do
    // the requests one produce's ack resumes (sameTurn). Each request's suppression look-up rides in
    // its rows' statement: as a statement of its own, sent alongside the produce, it was the API's
    // most frequent one (docs/benchmarks.md, G2). Room for the requests two produces resume (each
    // carries up to PRODUCE_MAX_BATCH emails): with room for fewer, one produce's rows took several
    // statements (concurrency.test.ts: 7 for 3 produce requests with room for 100).
    const accepted = new ResultBatcher((requests: AcceptedRequest[]) => recordAccepted(rowsPool, requests), {
      lingerMs: 0,
      sameTurn: true,
      maxBatch: 2 * config.PRODUCE_MAX_BATCH,
      maxInFlight: INSERTS_IN_FLIGHT,
      timeoutMs: config.LEDGER_TIMEOUT_MS,
    });
    app.decorate('ledger', pool);
    app.decorate('recordAccepted', (rows: AcceptedEmail[], lookup: SuppressionLookup) => accepted.run({ rows, lookup }));
    app.addHook('onClose', async () => {
      const inserts = withTimeout(accepted.drain(), config.LEDGER_TIMEOUT_MS, 'ledger inserts').catch(() => {});
      await app.shutdown.drain('ledger inserts', inserts, 'their emails are safe in Kafka; a mailer’s claim writes the missing rows');
      await app.shutdown.closePools('ledger pools', pool, rowsPool);
    });
  },
  { name: 'ledger', dependencies: ['startup', 'shutdown'] },
);

const INSERTS_IN_FLIGHT = 2;
