import { hostname } from 'node:os';
import type { RequestLimits } from '@postline/contracts';
import {
  ConfigError,
  fields,
  type KafkaConnection,
  kafkaConnection,
  kafkaConnectionFields,
  parseEnv,
  type TargetPolicy,
  webhookTargetFields,
  webhookTargetPolicy,
} from '@postline/runtime';
import { z } from 'zod';
import { SMTP_MAX_CONNECTIONS, SMTP_MAX_CONNECTIONS_PER_IP } from './smtp-connection-limit.js';
import { networkList, proxyFrom } from './smtp-proxy.js';

const apiKeys = fields.commaList
  .pipe(
    z
      .array(
        z
          .string()
          .regex(
            /^[A-Za-z0-9_-]{1,64}:[\x21-\x7e]{8,512}$/,
            'each key must be name:secret (name of letters, digits, _ or -; secret of 8+ printable characters)',
          ),
      )
      .min(1),
  )
  .transform((list) => list.map((k) => ({ name: k.slice(0, k.indexOf(':')), secret: k.slice(k.indexOf(':') + 1) })));

const schema = z.object({
  NODE_ENV: fields.nodeEnv,
  PORT: fields.port.default(3000),
  HOST: z.string().optional(),
  LOG_LEVEL: fields.logLevel,
  ...kafkaConnectionFields,
  DATABASE_URL: fields.postgresUrl,
  /** Lookups, reservations and what a client saves; the rows after the ack have 2 of their own (plugins/ledger.ts). */
  DATABASE_POOL_SIZE: fields.databasePoolSize(10),
  API_KEYS: apiKeys.optional(),
  SENDER_DOMAINS: fields.senderDomains.optional(),
  ...fields.topicFields,
  ACK_TIMEOUT_MS: fields.positiveInt.default(10_000),
  PRODUCE_LINGER_MS: fields.wholeNumber().min(0, { error: 'must be 0 or more' }).default(2),
  PRODUCE_MAX_BATCH: fields.positiveInt.default(500),
  /** Idempotent producers sharing the partitions, each with one batch in flight (producer-pool.ts). */
  PRODUCERS: fields.positiveInt.max(64).default(1),
  KAFKA_COMPRESSION: z.enum(['none', 'gzip']).default('none'),
  BODY_LIMIT_BYTES: fields.positiveInt.default(4 * 1024 * 1024),
  /** Request-body bytes held at once, HTTP and SMTP submission together (body-budget.ts); more waits. */
  BODY_BYTES_IN_FLIGHT: fields.positiveInt.default(24 * 1024 * 1024),
  /** HTTP connections open at once; past it a new one is closed at once (app.ts says why). */
  MAX_CONNECTIONS: fields.positiveInt.default(10_000),
  ...fields.requestLimitFields,
  MAX_BATCH_SIZE: fields.positiveInt.max(1000).default(100),
  /** How far ahead `scheduledAt` may be. */
  MAX_SCHEDULE_DAYS: fields.positiveInt.max(3650).default(30),
  RATE_LIMIT_PER_MINUTE: fields.positiveInt.default(6_000),
  /** Wrong keys one client may send at once, then one every 60/N s, HTTP and SMTP AUTH together; past it, refused until its next try is due (auth-failures.ts). */
  AUTH_FAILURES_PER_MINUTE: fields.positiveInt.default(30),
  /**
   * Load balancers in front of the HTTP port whose X-Forwarded-For names the client (fastify's
   * trustProxy): without it every client behind one has its address, and one client's wrong keys
   * would refuse them all. From anyone else the header is ignored, so no client can claim another's address.
   */
  HTTP_PROXY_FROM: networkList('the load balancers whose X-Forwarded-For names the client'),
  /**
   * Every other authenticated request per API key per minute (status, events, templates,
   * webhooks, suppressions, previews): each reads or writes the ledger, which all keys share.
   */
  REQUEST_RATE_LIMIT_PER_MINUTE: fields.positiveInt.default(3_000),
  LEDGER_TIMEOUT_MS: fields.positiveInt.default(2_000),
  STUCK_AFTER_MS: fields.stuckAfterMs,
  SHUTDOWN_TIMEOUT_MS: fields.positiveInt.default(30_000),
  /** Serve /metrics on this port (on METRICS_HOST) instead of the API's, so it need not be public. */
  METRICS_PORT: fields.port.optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** How long start-up keeps retrying Kafka and Postgres before giving up. */
  BOOT_TIMEOUT_MS: fields.positiveInt.default(120_000),
  ...webhookTargetFields,
  /** Webhook endpoints an account may have: each receives every event, so this is what one email's events multiply by. */
  MAX_WEBHOOK_ENDPOINTS: fields.positiveInt.max(1000).default(16),
  /** Template-thread time an account's template renders may take, on average (render-allowance.ts); 100: a tenth of a core. */
  TEMPLATE_RENDER_MS_PER_SECOND: fields.positiveInt.max(1000).default(100),
  /** Threads that parse and render templates (render-pool.ts), started with the first template; an account uses one at a time. */
  TEMPLATE_THREADS: fields.positiveInt.max(64).default(1),
  /** Bytes of template source (subject, html, text of every version kept) an account may store. */
  TEMPLATE_STORAGE_BYTES: fields.positiveInt.default(64 * 1024 * 1024),
  /** SMTP submission (submission/plugin.ts): the port (0: any free one), or `off`. 587 in the images. */
  SUBMISSION_PORT: z.union([z.literal('off'), fields.port]).default(2587),
  /** Its listen address (default: HOST). */
  SUBMISSION_HOST: z.string().optional(),
  /** The name in its greeting. */
  SUBMISSION_HOSTNAME: z.string().default(hostname()),
  /** PEM files: with both, STARTTLS is offered and AUTH needs it; without, AUTH works in the clear. */
  SUBMISSION_TLS_KEY_FILE: z.string().optional(),
  SUBMISSION_TLS_CERT_FILE: z.string().optional(),
  /** The SIZE limit of a submitted message (a larger one is a 552). */
  SUBMISSION_MAX_BYTES: fields.positiveInt.default(5 * 1024 * 1024),
  /** Connections held at once, in all and from one client (an IPv6 /64 counts as one): smtp-connection-limit.ts. */
  SUBMISSION_MAX_CONNECTIONS: fields.positiveInt.default(SMTP_MAX_CONNECTIONS),
  SUBMISSION_MAX_CONNECTIONS_PER_IP: fields.positiveInt.default(SMTP_MAX_CONNECTIONS_PER_IP),
  /** Load balancers that send a PROXY header (smtp-proxy.ts): the client is the address it names. */
  SUBMISSION_PROXY_FROM: proxyFrom,
});

/** Every environment variable this service reads (packaging tests check compose and k8s against it). */
export const ENV_VARS: readonly string[] = Object.keys(schema.shape);

export type ApiConfig = Omit<z.output<typeof schema>, 'API_KEYS' | 'SENDER_DOMAINS' | 'HOST'> & {
  HOST: string;
  API_KEYS: { name: string; secret: string }[];
  SENDER_DOMAINS: string[];
  /** True when API_KEYS / SENDER_DOMAINS were not given and development defaults are in use. */
  usingDevDefaults: boolean;
  /** The largest body allowed, over HTTP or SMTP submission (BODY_LIMIT_BYTES / SUBMISSION_MAX_BYTES). */
  largestBody: number;
  /** The per-email limits (MAX_*), for the route schemas and the preflight count. */
  limits: RequestLimits;
  /** Which webhook URLs may be registered (WEBHOOK_ALLOW_PRIVATE, WEBHOOK_DNS_SERVERS). */
  webhookTargets: TargetPolicy;
  /** The brokers, and TLS/SASL if set (KAFKA_*). */
  kafka: KafkaConnection;
};

/** Development defaults: usable out of the box with `npm start`, refused unless NODE_ENV allows them. */
export const DEV_API_KEY = { name: 'dev', secret: 'dev-key-change-me' };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const c = parseEnv(schema, env);
  const dev = fields.allowsDevDefaults(c.NODE_ENV);
  if (!dev && (!c.API_KEYS || !c.SENDER_DOMAINS)) {
    throw fields.devDefaultsRefused(
      c.NODE_ENV,
      'API_KEYS and SENDER_DOMAINS',
      'or the API would accept mail from anyone or for any sender',
    );
  }
  if (!dev && c.API_KEYS?.some((k) => k.secret.length < 24)) {
    throw new ConfigError('Invalid configuration — API_KEYS: outside development every secret must be at least 24 characters.');
  }
  const largest = Math.max(c.BODY_LIMIT_BYTES, c.SUBMISSION_PORT === 'off' ? 0 : c.SUBMISSION_MAX_BYTES);
  if (c.BODY_BYTES_IN_FLIGHT < largest) {
    throw new ConfigError(
      `Invalid configuration — BODY_BYTES_IN_FLIGHT: must be at least the largest body allowed (${largest} bytes, BODY_LIMIT_BYTES / SUBMISSION_MAX_BYTES).`,
    );
  }
  return {
    ...c,
    HOST: c.HOST ?? (dev ? '127.0.0.1' : '0.0.0.0'),
    API_KEYS: c.API_KEYS ?? [DEV_API_KEY],
    SENDER_DOMAINS: c.SENDER_DOMAINS ?? fields.DEV_SENDER_DOMAINS,
    usingDevDefaults: !c.API_KEYS || !c.SENDER_DOMAINS,
    largestBody: largest,
    webhookTargets: webhookTargetPolicy(c, dev),
    kafka: kafkaConnection(c),
    limits: {
      maxRecipients: c.MAX_RECIPIENTS,
      maxSubjectLength: c.MAX_SUBJECT_LENGTH,
      maxAttachments: c.MAX_ATTACHMENTS,
      maxAttachmentBytes: c.MAX_ATTACHMENT_BYTES,
      maxScheduleDays: c.MAX_SCHEDULE_DAYS,
    },
  };
}
