import { createLogger } from '@postline/runtime';

/** The stack the test runner started (or the one given in the environment). */
export function stackEnv() {
  const { KAFKA_BROKERS, DATABASE_URL, SMTP_URL, INBOX_URL } = process.env;
  if (!KAFKA_BROKERS || !DATABASE_URL) {
    throw new Error('KAFKA_BROKERS and DATABASE_URL are not set: run the tests with `npm test`, which starts the stack.');
  }
  return { brokers: KAFKA_BROKERS.split(','), databaseUrl: DATABASE_URL, smtpUrl: SMTP_URL, inboxUrl: INBOX_URL };
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `url` answers 2xx now (false on a refused connection): for polling readiness. */
export const answers = (url: string): Promise<boolean> =>
  fetch(url).then(
    (r) => r.ok,
    () => false,
  );
