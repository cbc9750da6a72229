import { ENVELOPE_VERSION, type Envelope, legacyEmailSchema } from '@postline/contracts';
import { createLedgerPool, migrate } from '@postline/ledger';
import { createKafka, emailTopics, ensureTopics, type LogSink } from '@postline/runtime';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Message, Partitioners } from 'kafkajs';
import pg from 'pg';
import type { Test } from 'tap';
import { app as mailerApp } from '../../services/mailer/src/app.js';
import { loadConfig, type MailerConfig } from '../../services/mailer/src/config.js';
import { emptyKeyring } from '../../services/mailer/src/dkim-keys.js';
import { createSmtpSender, type SmtpSender, type SmtpSenderOptions } from '../../services/mailer/src/smtp-sender.js';
import { quietLogger, stackEnv, TEST_SENDER_DOMAINS, uniqueName, waitUntil } from './env.js';
import { SmtpSink } from './smtp-sink.js';
import { ownTopics } from './topic-cleanup.js';

export const MESSAGE_ID_DOMAIN = 'mail.test.example';

/**
 * Shortened timings, so the fault tests that wait out a timeout (a dead member's session, an
 * expired claim, a silent SMTP server) finish in seconds rather than minutes: the in-process
 * mailer tests (startMailer), and e2e 3 alone (System.start `testTimings`). Each path they
 * shorten also runs with the production defaults, as every other e2e scenario does: e2e 12
 * (`stuck-smtp.test.ts`, a silent SMTP server) and e2e 13 (`restarts.test.ts`, a dead member's
 * session and its claims). A pooled SMTP connection's idle close follows SMTP_TIMEOUT_MS (half of
 * it); every other e2e scenario runs it at the default. SEND_TIMEOUT_MS stays below CLAIM_TTL_MS, as
 * the config requires. The retry backoff (RETRY_*_MS) stays short everywhere but the relay pool's
 * e2e (`relays.test.ts`, which waits out the default 30 s before its uncertain retry) and e2e 18
 * (`partial-delivery.test.ts`, a greylisted recipient retried alone at the default backoff): it
 * is policy, not a timeout, and its curve is unit-tested (units.test.ts). Capped at 2 s, it never
 * reaches PARK_AFTER_MS (5 s), so the fixture's retries are deferred, not parked: parking runs on
 * the default backoff in those two e2e files and in the chaos run, and retry-parking.test.ts
 * writes records with their own long due times. COMMIT_INTERVAL_MS is not
 * shortened: every test and e2e scenario commits on the 1 s default unless it sets 0 or a long
 * interval to compare against it (commit-interval.test.ts).
 */
export const TEST_TIMINGS = {
  SMTP_TIMEOUT_MS: '3000',
  SESSION_TIMEOUT_MS: '10000',
  CLAIM_TTL_MS: '8000',
  SEND_TIMEOUT_MS: '6000',
} as const;

/** Env for mailers of one test: private topics and group, fast retries, TEST_TIMINGS. */
export function mailerEnv(smtpUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  const { brokers, databaseUrl } = stackEnv();
  const base = uniqueName('mailer');
  const env: Record<string, string> = {
    KAFKA_BROKERS: brokers.join(','),
    DATABASE_URL: databaseUrl,
    SMTP_URL: smtpUrl,
    MESSAGE_ID_DOMAIN,
    // The same allowlist as apiEnv: the mailer checks every record against it again.
    SENDER_DOMAINS: TEST_SENDER_DOMAINS.join(','),
    EMAILS_TOPIC: `${base}.emails`,
    RETRY_TOPIC: `${base}.retry`,
    DEAD_LETTER_TOPIC: `${base}.dlq`,
    EVENTS_TOPIC: `${base}.events`,
    EVENTS_PARTITIONS: '1',
    CONSUMER_GROUP: `${base}.group`,
    RETRY_BASE_MS: '200',
    RETRY_MAX_MS: '2000',
    ...TEST_TIMINGS,
    METRICS_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
  ownTopics(env.EMAILS_TOPIC, env.RETRY_TOPIC, env.DEAD_LETTER_TOPIC, env.EVENTS_TOPIC);
  return env;
}

export async function createTopics(env: Record<string, string>): Promise<void> {
  const kafka = createKafka({ brokers: stackEnv().brokers, clientId: 'test-admin', logger: quietLogger });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, emailTopics(loadConfig(env)));
  } finally {
    await admin.disconnect();
  }
}

/** A mailer in this process (real Kafka, Postgres, SMTP); it starts consuming at once. */
export async function startMailer(t: Test, env: Record<string, string>): Promise<{ app: FastifyInstance; config: MailerConfig }> {
  const config = loadConfig(env);
  const app = Fastify({ logger: { level: config.LOG_LEVEL } });
  await app.register(mailerApp, { config });
  await app.ready();
  await app.startup.settled();
  t.teardown(() => app.close());
  return { app, config };
}

/**
 * The account of this test file's envelopes. Its own: an account's suppression list is in the
 * shared ledger, and a test that hard-bounces `rcpt@example.net` must not suppress it for the
 * tests that run after it.
 */
export const TEST_ACCOUNT = uniqueName('acct');

/**
 * The mailer's SMTP sender as its unit tests build it, over `url`: no DKIM, certificates not
 * checked, and shortened timeouts (1 s an SMTP phase, 3 s a send) so a test that waits one out
 * finishes in seconds; the defaults (10 s, 45 s) run in e2e 12 and 17. `options` overrides; the
 * caller closes it.
 */
export function testSmtpSender(url: string, options: Partial<SmtpSenderOptions> = {}, log: LogSink = quietLogger): SmtpSender {
  return createSmtpSender(
    {
      url,
      poolSize: 2,
      timeoutMs: 1_000,
      sendTimeoutMs: 3_000,
      rejectUnauthorized: false,
      messageIdDomain: 'sender.test',
      dkim: emptyKeyring,
      dkimRequired: false,
      ...options,
    },
    log,
  );
}

/** An envelope as the API writes it: `email` is given as a request (address strings) and parsed like one. */
export function envelope(overrides: Partial<Envelope> = {}, email: Record<string, unknown> = {}): Envelope {
  const id = overrides.id ?? crypto.randomUUID();
  const request = { from: 'Sender <sender@example.com>', to: 'rcpt@example.net', subject: `subject ${id}`, text: 'hello', ...email };
  return {
    v: ENVELOPE_VERSION,
    id,
    account: TEST_ACCOUNT,
    acceptedAt: new Date().toISOString(),
    attempt: 0,
    ...overrides,
    email: legacyEmailSchema.parse(request),
  };
}

/** Produces raw values or envelopes to a topic with acks=all, keyed like the API does. */
export async function produce(topic: string, records: (Envelope | Message)[]): Promise<void> {
  const kafka = createKafka({ brokers: stackEnv().brokers, clientId: 'test-producer', logger: quietLogger });
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const messages: Message[] = records.map((r) => ('v' in r ? { key: r.id, value: JSON.stringify(r) } : r));
    for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
  } finally {
    await producer.disconnect();
  }
}

export function ledgerPool(t: Test): pg.Pool {
  const pool = new pg.Pool({ connectionString: stackEnv().databaseUrl, max: 2 });
  pool.on('error', () => {});
  t.teardown(() => pool.end());
  return pool;
}

/**
 * A ledger of the test's own: a schema of the stack's Postgres, migrated, dropped at the end of
 * `t`. For work that takes whatever it finds across the ledger (the schedule releaser takes every
 * due email): on the shared one, another test's mailer running at the same time could take this
 * test's rows first. Built as the services build theirs (createLedgerPool), so its session plans
 * statements as theirs do (generic plans): a plan a test measures is the one users run.
 */
export async function privateLedgerPool(t: Test): Promise<pg.Pool> {
  const schema = uniqueName('ledger').replace(/[^a-z0-9_]/gi, '_');
  const admin = ledgerPool(t);
  await admin.query(`create schema ${schema}`);
  t.teardown(() => admin.query(`drop schema ${schema} cascade`));
  const url = new URL(stackEnv().databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const pool = servicePool(t, { url: url.href, maxConnections: 2 });
  await migrate(pool, { info() {} });
  return pool;
}

/**
 * A pool built as the services build theirs (createLedgerPool: prepared statements, generic
 * plans), on the stack's database unless `url` says otherwise. Its query timeout is the test's
 * own (30 s), not a service's.
 */
export function servicePool(t: Test, options: { url?: string; maxConnections?: number } = {}): pg.Pool {
  const pool = createLedgerPool(
    {
      url: options.url ?? stackEnv().databaseUrl,
      applicationName: 'postline-test',
      maxConnections: options.maxConnections ?? 1,
      connectTimeoutMs: 5_000,
      queryTimeoutMs: 30_000,
    },
    quietLogger,
  );
  t.teardown(() => pool.end());
  return pool;
}

/**
 * A pool whose plain queries and client checkouts (a transaction's start; not the client's own
 * statements) first go through `before`, which may delay them.
 */
export function interceptedPool(pool: pg.Pool, before: (call: 'query' | 'connect', args: unknown[]) => Promise<void> | void): pg.Pool {
  return new Proxy(pool, {
    get(target, key, receiver) {
      if (key === 'query' || key === 'connect')
        return (...args: unknown[]) => {
          const call = () => (target[key] as (...a: unknown[]) => unknown).apply(target, args);
          const pending = before(key, args);
          return pending ? pending.then(call) : call();
        };
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A pool whose plain queries are recorded, text and values, in the order they were issued. */
export function recordedPool(pool: pg.Pool): { db: pg.Pool; statements: { text: string; values: unknown[] }[] } {
  const statements: { text: string; values: unknown[] }[] = [];
  const db = interceptedPool(pool, (call, [text, values]) => {
    if (call === 'query') statements.push({ text: text as string, values: values as unknown[] });
  });
  return { db, statements };
}

/** A pool whose plain queries (how many statements a piece of work took) and checkouts (transactions) are counted. */
export function countedPool(pool: pg.Pool): { db: pg.Pool; queries: () => number; checkouts: () => number } {
  let n = 0;
  let c = 0;
  const db = interceptedPool(pool, (call) => {
    if (call === 'query') n++;
    else c++;
  });
  return { db, queries: () => n, checkouts: () => c };
}

export async function ledgerRows(pool: pg.Pool, ids: string[]) {
  const { rows } = await pool.query<{
    id: string;
    state: string;
    attempts: number;
    last_error: string | null;
    smtp_response: string | null;
    message_id: string | null;
    uncertain: boolean;
  }>('select id, state, attempts, last_error, smtp_response, message_id, uncertain from emails where id = any($1)', [ids]);
  return new Map(rows.map((r) => [r.id, r]));
}

/** env.ts' waitUntil with the mailer tests' defaults: up to a minute, every 200 ms. */
export const eventually = (check: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 200): Promise<boolean> =>
  waitUntil(check, timeoutMs, everyMs);

/** A recording SMTP server and a mailer env on fresh topics pointing at it. */
export async function mailerFixture(t: Test, overrides: Record<string, string> = {}, options: { delayMs?: number } = {}) {
  const sink = await new SmtpSink().start();
  sink.delayMs = options.delayMs ?? 0;
  t.teardown(() => sink.stop());
  const env = mailerEnv(sink.url, overrides);
  await createTopics(env);
  return { sink, env };
}
