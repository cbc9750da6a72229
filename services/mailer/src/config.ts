import { hostname } from 'node:os';
import type { SendPolicy } from '@postline/contracts';
import { ConfigError, fields, type KafkaConnection, kafkaConnection, kafkaConnectionFields, parseEnv } from '@postline/runtime';
import { z } from 'zod';
import { type DkimKeyring, emptyKeyring, loadDkimKeys, unsignedDomains } from './dkim-keys.js';
import { parseRelays, type RelaySpec } from './relays/relay-config.js';
import { parseRoutes, type Route } from './relays/routes.js';

const schema = z.object({
  NODE_ENV: fields.nodeEnv,
  /** Checked again here for every record, whoever produced it (the same setting as the API's). */
  SENDER_DOMAINS: fields.senderDomains.optional(),
  ...fields.requestLimitFields,
  LOG_LEVEL: fields.logLevel,
  ...kafkaConnectionFields,
  DATABASE_URL: fields.postgresUrl,
  /**
   * Claims and outcomes of all sends in flight go one statement at a time each (ledger-batches.ts):
   * under load a mailer held 4 (sampled); the rest is for the outbox relay, the releaser, the
   * retry releaser, the purge, and a failed statement's emails retried one by one.
   */
  DATABASE_POOL_SIZE: fields.databasePoolSize(10),
  /** The one relay; or SMTP_RELAYS for several. */
  SMTP_URL: fields.smtpUrl.optional(),
  /** Relays in priority order: `smtp://…?name=main&weight=1&maxRate=14, smtp://…?name=spare` (see relays/relay-config.ts). */
  SMTP_RELAYS: z.string().min(1).optional(),
  /** Routing rules by sender domain and/or tag: `tag:stream:marketing=bulk|main; domain:news.example.com=bulk`. */
  SMTP_ROUTES: z.string().optional(),
  /** Verify the SMTP server's certificate (smtps:// or STARTTLS). Turn off only for test servers. */
  SMTP_TLS_REJECT_UNAUTHORIZED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  SMTP_POOL_SIZE: fields.positiveInt.default(5),
  /** Each SMTP phase (connect, greeting, every command) must answer within this; below the Kafka session timeout. */
  SMTP_TIMEOUT_MS: fields.positiveInt.default(10_000),
  /**
   * The deadline of one send, all in: waiting for a pooled connection, connecting, the whole
   * conversation. Past it the send fails (transient, or uncertain if DATA began) and its record
   * is resolved, so no send holds its partition forever. Below CLAIM_TTL_MS: a claim never
   * expires while its send is pending.
   */
  SEND_TIMEOUT_MS: fields.positiveInt.default(45_000),
  /** A partition with records to do that has not moved for this long is stalled: /readyz and /healthz fail. */
  STALL_TIMEOUT_MS: fields.positiveInt.default(300_000),
  /** An accepted email not final this long after it was due is reported as stuck (metric, log, GET /v1/emails?stuck=true). */
  STUCK_AFTER_MS: fields.stuckAfterMs,
  /** How often the stuck-email audit runs (one mailer at a time). */
  AUDIT_INTERVAL_MS: fields.positiveInt.default(60_000),
  MESSAGE_ID_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'must be a domain name')
    .optional(),
  /** Every message's Return-Path becomes bounces+<email id>@this (VERP); its MX is the bounce listener. Unset: the From: address. */
  BOUNCE_DOMAIN: fields.bounceDomain.optional(),
  /** PEM files named `<domain>.<selector>.pem` (a mounted secret): mail from each domain is DKIM-signed. */
  DKIM_KEYS_DIR: z.string().min(1).optional(),
  /** Refuse (dead-letter) mail from a domain without a DKIM key, instead of sending it unsigned. */
  DKIM_REQUIRED: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  MAX_ATTEMPTS: fields.positiveInt.default(8),
  /** Retry n waits RETRY_BASE_MS * 2^(n-1), capped, with ±20 % jitter: 8 attempts span about 2 hours by default. */
  RETRY_BASE_MS: fields.positiveInt.default(30_000),
  RETRY_MAX_MS: fields.positiveInt.default(3_600_000),
  CONSUMER_GROUP: z.string().min(1).default('postline-mailer'),
  /** Partitions processed at once, and sends in flight within one partition. */
  PARTITION_CONCURRENCY: fields.positiveInt.default(6),
  SENDS_PER_PARTITION: fields.positiveInt.default(4),
  SESSION_TIMEOUT_MS: fields.positiveInt.default(30_000),
  /** What a crash leaves uncommitted is read again and skipped by the ledger's dedupe. */
  COMMIT_INTERVAL_MS: fields.commitIntervalMs,
  /** How long a claim protects an email being sent; longer than any send can take. */
  CLAIM_TTL_MS: fields.positiveInt.default(60_000),
  MAILER_ID: z.string().optional(),
  METRICS_PORT: fields.port.default(9464),
  METRICS_HOST: z.string().default('127.0.0.1'),
  LEDGER_RETENTION_DAYS: fields.positiveInt.default(30),
  SHUTDOWN_TIMEOUT_MS: fields.positiveInt.default(30_000),
  /** How long start-up keeps retrying Kafka and Postgres before giving up. */
  BOOT_TIMEOUT_MS: fields.positiveInt.default(120_000),
  ...fields.topicFields,
});

/** Every environment variable this service reads (packaging tests check compose and k8s against it). */
export const ENV_VARS: readonly string[] = Object.keys(schema.shape);

export type MailerConfig = Omit<z.output<typeof schema>, 'MESSAGE_ID_DOMAIN' | 'MAILER_ID' | 'SENDER_DOMAINS'> & {
  MESSAGE_ID_DOMAIN: string;
  /** SMTP_RELAYS parsed, or SMTP_URL as the one relay (`relay1`). */
  relays: RelaySpec[];
  routes: Route[];
  /** The keys read from DKIM_KEYS_DIR at boot (none when it is unset). */
  dkim: DkimKeyring;
  MAILER_ID: string;
  SENDER_DOMAINS: string[];
  /** What every record must meet before it is sent (policy.ts in contracts). */
  policy: SendPolicy;
  /** The brokers, and TLS/SASL if set (KAFKA_*). */
  kafka: KafkaConnection;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): MailerConfig {
  const c = parseEnv(schema, env);
  if (!fields.allowsDevDefaults(c.NODE_ENV) && (!c.MESSAGE_ID_DOMAIN || !c.SENDER_DOMAINS)) {
    throw fields.devDefaultsRefused(
      c.NODE_ENV,
      'MESSAGE_ID_DOMAIN (the domain of your Message-IDs, e.g. mail.example.com) and SENDER_DOMAINS',
    );
  }
  if (c.SMTP_TIMEOUT_MS * 2 >= c.SESSION_TIMEOUT_MS) {
    throw new ConfigError(
      'Invalid configuration — SMTP_TIMEOUT_MS must be under half of SESSION_TIMEOUT_MS, or a slow send gets the mailer kicked out of its consumer group.',
    );
  }
  if (c.SEND_TIMEOUT_MS >= c.CLAIM_TTL_MS || c.SEND_TIMEOUT_MS <= c.SMTP_TIMEOUT_MS) {
    throw new ConfigError(
      'Invalid configuration — SEND_TIMEOUT_MS must be above SMTP_TIMEOUT_MS and below CLAIM_TTL_MS, or a claim could expire while its send is still pending.',
    );
  }
  if (c.STALL_TIMEOUT_MS <= c.SEND_TIMEOUT_MS) {
    throw new ConfigError(
      'Invalid configuration — STALL_TIMEOUT_MS must be above SEND_TIMEOUT_MS, or every slow send would look like a stall.',
    );
  }
  if (!c.SMTP_URL === !c.SMTP_RELAYS) {
    throw new ConfigError('Invalid configuration — set SMTP_URL (one relay) or SMTP_RELAYS (several), not both and not neither.');
  }
  const relays = c.SMTP_RELAYS ? parseRelays(c.SMTP_RELAYS) : [{ name: 'relay1', url: c.SMTP_URL as string, weight: 1, maxRate: null }];
  const routes = c.SMTP_ROUTES ? parseRoutes(c.SMTP_ROUTES, relays) : [];
  const senderDomains = c.SENDER_DOMAINS ?? fields.DEV_SENDER_DOMAINS;
  const dkim = c.DKIM_KEYS_DIR ? loadDkimKeys(c.DKIM_KEYS_DIR) : emptyKeyring;
  const unsigned = unsignedDomains(dkim, senderDomains);
  if (c.DKIM_REQUIRED && unsigned.length > 0) {
    throw new ConfigError(
      `Invalid configuration — DKIM_REQUIRED is true but DKIM_KEYS_DIR has no key for ${unsigned.join(', ')} (add <domain>.<selector>.pem files, or remove the domain from SENDER_DOMAINS).`,
    );
  }
  return {
    ...c,
    kafka: kafkaConnection(c),
    relays,
    routes,
    dkim,
    SENDER_DOMAINS: senderDomains,
    policy: {
      senderDomains,
      maxRecipients: c.MAX_RECIPIENTS,
      maxAttachments: c.MAX_ATTACHMENTS,
      maxAttachmentBytes: c.MAX_ATTACHMENT_BYTES,
    },
    MESSAGE_ID_DOMAIN: c.MESSAGE_ID_DOMAIN ?? 'postline.localhost',
    // Unique per process: two live mailers must never share claims.
    MAILER_ID: c.MAILER_ID ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
  };
}
