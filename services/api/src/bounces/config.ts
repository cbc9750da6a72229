import { fields, parseEnv } from '@postline/runtime';
import { z } from 'zod';
import { SMTP_MAX_CONNECTIONS, SMTP_MAX_CONNECTIONS_PER_IP } from '../smtp-connection-limit.js';
import { proxyFrom } from '../smtp-proxy.js';

const schema = z.object({
  NODE_ENV: fields.nodeEnv,
  LOG_LEVEL: fields.logLevel,
  DATABASE_URL: fields.postgresUrl,
  DATABASE_POOL_SIZE: fields.databasePoolSize(5),
  /** The domain of every message's VERP Return-Path (bounces+<id>@…): its MX points at this listener. */
  BOUNCE_DOMAIN: fields.bounceDomain.optional(),
  BOUNCE_SMTP_PORT: fields.port.default(2525),
  BOUNCE_SMTP_HOST: z.string().default('127.0.0.1'),
  /** A report larger than this is refused at MAIL FROM (SIZE) or when its data passes it: 552. */
  BOUNCE_MAX_BYTES: fields.positiveInt.default(10 * 1024 * 1024),
  /** Connections held at once, in all and from one client (an IPv6 /64 counts as one): smtp-connection-limit.ts. */
  BOUNCE_MAX_CONNECTIONS: fields.positiveInt.default(SMTP_MAX_CONNECTIONS),
  BOUNCE_MAX_CONNECTIONS_PER_IP: fields.positiveInt.default(SMTP_MAX_CONNECTIONS_PER_IP),
  /** Load balancers that send a PROXY header (smtp-proxy.ts): the client is the address it names. */
  BOUNCE_PROXY_FROM: proxyFrom,
  METRICS_PORT: fields.port.default(9466),
  METRICS_HOST: z.string().default('127.0.0.1'),
  LEDGER_TIMEOUT_MS: fields.positiveInt.default(5_000),
  SHUTDOWN_TIMEOUT_MS: fields.positiveInt.default(10_000),
  BOOT_TIMEOUT_MS: fields.positiveInt.default(120_000),
});

/** Every environment variable the bounce listener reads (packaging tests check compose and k8s against it). */
export const ENV_VARS: readonly string[] = Object.keys(schema.shape);

export type BounceConfig = Omit<z.output<typeof schema>, 'BOUNCE_DOMAIN'> & { BOUNCE_DOMAIN: string };

/** The development default: `npm start`'s mailer uses the same one. */
export const DEV_BOUNCE_DOMAIN = 'bounces.example.com';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BounceConfig {
  const c = parseEnv(schema, env);
  if (!c.BOUNCE_DOMAIN && !fields.allowsDevDefaults(c.NODE_ENV)) {
    throw fields.devDefaultsRefused(c.NODE_ENV, 'BOUNCE_DOMAIN', 'the domain whose MX points at this listener');
  }
  return { ...c, BOUNCE_DOMAIN: c.BOUNCE_DOMAIN ?? DEV_BOUNCE_DOMAIN };
}
