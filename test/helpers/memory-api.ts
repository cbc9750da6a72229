import Fastify, { type FastifyInstance } from 'fastify';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import type { Test } from 'tap';
import { app as apiApp, serverOptions } from '../../services/api/src/app.js';
import { type ApiConfig, loadConfig } from '../../services/api/src/config.js';
import { KEY, OTHER_KEY } from './api.js';
import { TEST_SENDER_DOMAINS } from './env.js';

/**
 * The real API app with in-memory stand-ins for Kafka and Postgres: no Java, no database, ready
 * in milliseconds. `produced` is everything the API would have put on the topic. The ledger
 * stand-in refuses every query, as an unreachable Postgres would (the API's documented fallback).
 */
export async function buildMemoryApi(
  t: Test,
  overrides: Record<string, string> = {},
  /** Where the API's log lines go (with LOG_LEVEL in `overrides`); pino's stdout otherwise. */
  logStream?: { write(line: string): void },
): Promise<{ app: FastifyInstance; config: ApiConfig; produced: Message[] }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    KAFKA_BROKERS: '127.0.0.1:1',
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
    API_KEYS: `test:${KEY},other:${OTHER_KEY}`,
    SENDER_DOMAINS: TEST_SENDER_DOMAINS.join(','),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SUBMISSION_PORT: 'off',
    ...overrides,
  });
  const produced: Message[] = [];
  const app = Fastify({ logger: { level: config.LOG_LEVEL, ...(logStream && { stream: logStream }) }, ...serverOptions(config) });
  await app.register(apiApp, {
    config,
    resources: async (instance) => {
      const unavailable = async () => {
        throw new Error('no ledger in the in-memory tier');
      };
      instance.decorate('ledger', { query: unavailable, connect: unavailable } as unknown as pg.Pool);
      // Rows recorded, nobody suppressed.
      instance.decorate('recordAccepted', async () => []);
      instance.decorate('emailQueue', {
        enqueue: async (messages: Message[]) => {
          produced.push(...messages);
          return messages.map(() => ({ topic: config.EMAILS_TOPIC, partition: 0 }));
        },
        ready: async () => true,
        keyedPartitionOf: () => 0,
      });
    },
  });
  await app.ready();
  await app.startup.settled();
  t.teardown(() => app.close());
  return { app, config, produced };
}
