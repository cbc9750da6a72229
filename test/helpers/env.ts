import { execFileSync } from 'node:child_process';
import { createLogger } from '@postline/runtime';
import { repoRoot } from '../../packages/stack/src/paths.js';
import { userNode } from './user-node.js';
import { sleep } from './wait.js';

export { sleep, waitUntil } from './wait.js';

/** The stack the test runner started (or the one given in the environment). */
export function stackEnv() {
  const { KAFKA_BROKERS, DATABASE_URL, SMTP_URL, INBOX_URL } = process.env;
  if (!KAFKA_BROKERS || !DATABASE_URL) {
    throw new Error('KAFKA_BROKERS and DATABASE_URL are not set: run the tests with `npm test`, which starts the stack.');
  }
  return { brokers: KAFKA_BROKERS.split(','), databaseUrl: fileDatabase(DATABASE_URL), smtpUrl: SMTP_URL, inboxUrl: INBOX_URL };
}

/**
 * Each test file gets a database of its own on the test run's Postgres. Files run two at a time,
 * and one ledger means one deployment: a mailer's outbox relay publishes every unpublished event
 * in its database to its own events topic, so with one shared database a file's mailers took
 * the other file's events. Created once per file process (synchronously: stackEnv() is sync),
 * migrated, then put in process.env so everything this file starts inherits it. With a Postgres given from
 * outside (no STACK_CONTROL_URL) the tests use the database they are given.
 */
function fileDatabase(url: string): string {
  if (!process.env.STACK_CONTROL_URL || process.env.POSTLINE_TEST_FILE_DB) return url;
  const name = `test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const own = new URL(url);
  own.pathname = `/${name}`;
  // Created and migrated (as a deployed ledger is) by the built @postline/ledger.
  const create = `import pg from 'pg'; import { migrate } from '@postline/ledger';
    const admin = new pg.Client(process.env.ADMIN_URL); await admin.connect(); await admin.query('create database ${name}'); await admin.end();
    const pool = new pg.Pool({ connectionString: process.env.OWN_URL, max: 1 }); await migrate(pool, { info() {} }); await pool.end();`;
  execFileSync(...userNode(['--input-type=module', '-e', create]), {
    cwd: repoRoot,
    env: { ...process.env, ADMIN_URL: url, OWN_URL: own.toString() },
  });
  process.env.DATABASE_URL = own.toString();
  process.env.POSTLINE_TEST_FILE_DB = name;
  return process.env.DATABASE_URL;
}

export const quietLogger = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The sender allowlist every test API and mailer runs with, and that the SMTP sink checks. */
export const TEST_SENDER_DOMAINS = ['example.com', 'example.org'];

/**
 * The API's rate-limit windows are fixed minutes: a test that spends a budget starts well inside
 * one, or the budget resets in the middle of it.
 */
export async function startOfRateLimitWindow(): Promise<void> {
  const msLeft = 60_000 - (Date.now() % 60_000);
  if (msLeft < 10_000) await sleep(msLeft + 50);
}

/** Whether `url` answers 2xx now (false on a refused connection, or no answer within `timeoutMs`): for polling readiness. */
export const answers = (url: string, timeoutMs?: number): Promise<boolean> =>
  fetch(url, timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }).then(
    (r) => r.ok,
    () => false,
  );
