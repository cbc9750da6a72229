import { z } from 'zod';
import { ConfigError } from './config-error.js';

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;

/** `a, b,,c` → ['a', 'b', 'c']: a setting that lists values; spaces around them and empty items are dropped. */
export function commaSeparated(s: string): string[] {
  return s
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** A setting that lists values (commaSeparated), for the checks of each list to pipe into. */
export const commaList = z.string().transform(commaSeparated);

/** `host:port,host:port` → ['host:port', …]. */
export const kafkaBrokers = commaList.refine(
  (list) => list.length > 0 && list.every((b) => HOST_PORT.test(b) && Number(b.split(':')[1]) <= 65535),
  {
    message: 'must be a comma-separated list of host:port (e.g. 127.0.0.1:9092,127.0.0.1:9093)',
  },
);

export const postgresUrl = z.string().refine((s) => /^postgres(ql)?:\/\/.+/.test(s), {
  message: 'must be a postgres:// or postgresql:// URL',
});

export const smtpUrl = z.string().refine((s) => /^smtps?:\/\/.+/.test(s), { message: 'must be an smtp:// or smtps:// URL' });

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

const WHOLE = { error: 'must be a whole number' };

/** A whole number from the environment: `abc` reads "must be a whole number", not zod's "received NaN". */
export const wholeNumber = () => z.coerce.number(WHOLE).int(WHOLE);

export const port = wholeNumber()
  .min(0, { error: 'must be a port number, 0 to 65535' })
  .max(65535, { error: 'must be a port number, 0 to 65535' });

export const positiveInt = wholeNumber().positive({ error: 'must be 1 or more' });

/**
 * DATABASE_POOL_SIZE: the most Postgres connections a service's ledger pool opens; with the
 * replica counts, what the services may hold of Postgres' `max_connections` (README, "How many
 * connections"). Two at least: one statement may wait on Kafka inside a transaction.
 */
export const databasePoolSize = (connections: number) => wholeNumber().min(2, { error: 'must be 2 or more' }).default(connections);

/**
 * COMMIT_INTERVAL_MS of the consumers: offsets committed at most this often (and all of them at
 * shutdown and at a rebalance); 0 commits after every fetched batch (offset-commits.ts).
 */
export const commitIntervalMs = wholeNumber().min(0, { error: 'must be 0 or more' }).default(1_000);

/** Topic names and partition counts, shared by the API (producer) and the mailer (consumer). */
export const topicFields = {
  EMAILS_TOPIC: z.string().min(1).default('emails'),
  EMAILS_PARTITIONS: positiveInt.default(12),
  RETRY_TOPIC: z.string().min(1).default('emails.retry'),
  RETRY_PARTITIONS: positiveInt.default(6),
  DEAD_LETTER_TOPIC: z.string().min(1).default('emails.dead-letter'),
  DEAD_LETTER_PARTITIONS: positiveInt.default(3),
  /** Every email's events (keyed by email id), published from the ledger's outbox; read by the webhook dispatchers. */
  EVENTS_TOPIC: z.string().min(1).default('emails.events'),
  EVENTS_PARTITIONS: positiveInt.default(6),
};

/**
 * An accepted email not final this long after it was due is "stuck": the mailers' audit and
 * `GET /v1/emails?stuck=true` must agree on it, so both read this one setting.
 */
export const stuckAfterMs = positiveInt.default(900_000);

/** NODE_ENV, unset unless given: only `development` and `test` turn on development defaults. */
export const nodeEnv = z.string().optional();

/**
 * Development defaults (a dev API key, example sender domains, a localhost Message-ID domain)
 * apply only when NODE_ENV says so; `npm start` and `npm run api|mailer` set `development` when it
 * is unset. Any other value, `prod` or unset included, fails closed: the setting is required.
 */
export function allowsDevDefaults(env: string | undefined): boolean {
  return env === 'development' || env === 'test';
}

/** The one sentence a service fails with when a setting that has only a development default is missing. */
export function devDefaultsRefused(env: string | undefined, settings: string, consequence = ''): ConfigError {
  const nodeEnv = env === undefined ? 'unset' : `"${env}"`;
  return new ConfigError(
    `Invalid configuration — ${settings} must be set (NODE_ENV is ${nodeEnv}; only development or test allow the development defaults)${consequence ? `, ${consequence}` : ''}.`,
  );
}

/** BOUNCE_DOMAIN (the mailer's VERP Return-Paths, the bounce listener's domain): one domain name, lower-cased. */
export const bounceDomain = z
  .string()
  .regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, 'must be a domain name')
  .transform((d) => d.toLowerCase());

/** `example.com, Example.org` → ['example.com', 'example.org']: the sender domains allowed to send. */
export const senderDomains = commaList
  .transform((domains) => domains.map((d) => d.toLowerCase()))
  .pipe(z.array(z.string().regex(/^[a-z0-9.-]+$/, 'must be domain names')).min(1));

export const DEV_SENDER_DOMAINS = ['example.com', 'example.test', 'localhost'];

/** Per-email limits, read by the API (at the edge) and the mailer (again, for any producer). */
export const requestLimitFields = {
  MAX_RECIPIENTS: positiveInt.max(1000).default(50),
  MAX_SUBJECT_LENGTH: positiveInt.max(998).default(998),
  MAX_ATTACHMENTS: positiveInt.max(100).default(10),
  /** Decoded bytes of all attachments of one email together. */
  MAX_ATTACHMENT_BYTES: positiveInt.max(64 * 1024 * 1024).default(3 * 1024 * 1024),
};
