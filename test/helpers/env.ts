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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `url` answers 2xx now (false on a refused connection): for polling readiness. */
export const answers = (url: string): Promise<boolean> =>
  fetch(url).then(
    (r) => r.ok,
    () => false,
  );
