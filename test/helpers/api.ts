import Fastify, { type FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { app as apiApp, serverOptions } from '../../services/api/src/app.js';
import { type ApiConfig, loadConfig } from '../../services/api/src/config.js';
import { stackEnv, TEST_SENDER_DOMAINS, uniqueName } from './env.js';
import { ownTopics } from './topic-cleanup.js';

export const KEY = 'test-secret-0123456789abcdef';
export const OTHER_KEY = 'other-secret-0123456789abcdef';
export const AUTH = { authorization: `Bearer ${KEY}` };

/** Env for an API on topics of its own, so each test file sees only its own records. */
export function apiEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const { brokers, databaseUrl } = stackEnv();
  const base = uniqueName('api');
  ownTopics(`${base}.emails`, `${base}.retry`, `${base}.dlq`, `${base}.events`);
  return {
    KAFKA_BROKERS: brokers.join(','),
    DATABASE_URL: databaseUrl,
    API_KEYS: `test:${KEY},other:${OTHER_KEY}`,
    SENDER_DOMAINS: TEST_SENDER_DOMAINS.join(','),
    EMAILS_TOPIC: `${base}.emails`,
    RETRY_TOPIC: `${base}.retry`,
    DEAD_LETTER_TOPIC: `${base}.dlq`,
    EVENTS_TOPIC: `${base}.events`,
    EVENTS_PARTITIONS: '1',
    // Any free port: several APIs run at once in a test run.
    SUBMISSION_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
}

/** The real API (real Kafka, real Postgres) in this process; closed on teardown. */
export async function buildApi(t: Test, overrides: Record<string, string> = {}): Promise<{ app: FastifyInstance; config: ApiConfig }> {
  const config = loadConfig(apiEnv(overrides));
  const app = Fastify({ logger: { level: config.LOG_LEVEL }, ...serverOptions(config) });
  await app.register(apiApp, { config });
  await app.ready();
  await app.startup.settled();
  t.teardown(() => app.close());
  return { app, config };
}

export function email(overrides: Record<string, unknown> = {}) {
  return { from: 'Sender <sender@example.com>', to: 'someone@example.net', subject: 'Hello', text: 'Hi there', ...overrides };
}
