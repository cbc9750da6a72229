import { ConfigError, fields, parseEnv } from '@postline/runtime';
import { z } from 'zod';

const apiKeys = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  )
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

const domains = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((d) => d.trim().toLowerCase())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[a-z0-9.-]+$/, 'must be domain names')).min(1));

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: fields.port.default(3000),
  HOST: z.string().optional(),
  LOG_LEVEL: fields.logLevel,
  KAFKA_BROKERS: fields.kafkaBrokers,
  DATABASE_URL: fields.postgresUrl,
  API_KEYS: apiKeys.optional(),
  SENDER_DOMAINS: domains.optional(),
  ...fields.topicFields,
  ACK_TIMEOUT_MS: fields.positiveInt.default(10_000),
  PRODUCE_LINGER_MS: z.coerce.number().int().min(0).default(2),
  PRODUCE_MAX_BATCH: fields.positiveInt.default(500),
  /** Idempotent producers sharing the partitions, each with one batch in flight (producer-pool.ts). */
  PRODUCERS: fields.positiveInt.max(64).default(1),
  BODY_LIMIT_BYTES: fields.positiveInt.default(4 * 1024 * 1024),
  MAX_RECIPIENTS: fields.positiveInt.default(50),
  MAX_SUBJECT_LENGTH: fields.positiveInt.max(998).default(998),
  MAX_ATTACHMENTS: fields.positiveInt.default(10),
  MAX_BATCH_SIZE: fields.positiveInt.max(1000).default(100),
  RATE_LIMIT_PER_MINUTE: fields.positiveInt.default(6_000),
  LEDGER_TIMEOUT_MS: fields.positiveInt.default(2_000),
  STUCK_AFTER_MS: fields.stuckAfterMs,
  SHUTDOWN_TIMEOUT_MS: fields.positiveInt.default(30_000),
  /** How long start-up keeps retrying Kafka and Postgres before giving up. */
  BOOT_TIMEOUT_MS: fields.positiveInt.default(120_000),
});

/** Every environment variable this service reads (packaging tests check compose and k8s against it). */
export const ENV_VARS: readonly string[] = Object.keys(schema.shape);

export type ApiConfig = Omit<z.output<typeof schema>, 'API_KEYS' | 'SENDER_DOMAINS' | 'HOST'> & {
  HOST: string;
  API_KEYS: { name: string; secret: string }[];
  SENDER_DOMAINS: string[];
  /** True when API_KEYS / SENDER_DOMAINS were not given and development defaults are in use. */
  usingDevDefaults: boolean;
};

/** Development defaults: usable out of the box with `npm start`, refused in production. */
export const DEV_API_KEY = { name: 'dev', secret: 'dev-key-change-me' };
const DEV_SENDER_DOMAINS = ['example.com', 'example.test', 'localhost'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const c = parseEnv(schema, env);
  const production = c.NODE_ENV === 'production';
  if (production && (!c.API_KEYS || !c.SENDER_DOMAINS)) {
    throw new ConfigError(
      'Invalid configuration — in production (NODE_ENV=production) API_KEYS and SENDER_DOMAINS must be set, or the API would accept mail from anyone or for any sender.',
    );
  }
  if (production && c.API_KEYS?.some((k) => k.secret.length < 24)) {
    throw new ConfigError('Invalid configuration — API_KEYS: in production every secret must be at least 24 characters.');
  }
  return {
    ...c,
    HOST: c.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    API_KEYS: c.API_KEYS ?? [DEV_API_KEY],
    SENDER_DOMAINS: c.SENDER_DOMAINS ?? DEV_SENDER_DOMAINS,
    usingDevDefaults: !c.API_KEYS || !c.SENDER_DOMAINS,
  };
}
