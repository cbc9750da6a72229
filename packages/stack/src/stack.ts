import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fields, parseEnv } from '@postline/runtime';
import { z } from 'zod';
import { Inbox } from './inbox.js';
import { KafkaCluster } from './kafka-cluster.js';
import { PROXIED_ADVERTISED_OFFSET } from './kafka-proxied-listener.js';
import { MTLS_PORT_OFFSET, SECURE_PORT_OFFSET } from './kafka-secure-listener.js';
import { checkPostgresReachable } from './postgres-check.js';
import { PostgresServer } from './postgres-server.js';

export interface StackOptions {
  /** Where Kafka and Postgres data go (persistent for `npm start`, a temp dir for tests). */
  dataDir: string;
  /** Start MailDev when SMTP_URL is not set. */
  inbox?: boolean;
  /** First Kafka client port (three nodes: port, port+1, port+2). */
  kafkaPort?: number;
  postgresPort?: number;
  inboxSmtpPort?: number;
  inboxWebPort?: number;
  env?: NodeJS.ProcessEnv;
  progress?: (line: string) => void;
  /** Extra JVM flags for the Kafka nodes; none for `npm start` and the bench (the JVM's defaults). */
  kafkaJvmFlags?: readonly string[];
  /** A SASL_SSL listener on each Kafka node too (`npm test`: the STACK_KAFKA_SECURE_* variables say how to reach it). */
  kafkaSecureListener?: boolean;
  /** TLS on the embedded Postgres too (`npm test`: STACK_POSTGRES_CA_FILE is the certificate to trust). */
  postgresTls?: boolean;
}

/** How the tests reach the SASL_SSL listener and Postgres over TLS, when the stack has them. */
const SECURE_ENV_NAMES = [
  'STACK_KAFKA_SECURE_BROKERS',
  'STACK_KAFKA_MTLS_BROKERS',
  'STACK_KAFKA_PROXIED_BROKERS',
  'STACK_KAFKA_SECURE_CA_FILE',
  'STACK_KAFKA_SECURE_KEY_FILE',
  'STACK_KAFKA_SECURE_USERNAME',
  'STACK_KAFKA_SECURE_PASSWORD',
  'STACK_KAFKA_OAUTH_KEY_FILE',
  'STACK_KAFKA_OAUTH_KID',
  'STACK_KAFKA_OAUTH_AUDIENCE',
  'STACK_POSTGRES_CA_FILE',
];

/** What a caller may already provide: anything given is used instead of started. */
const givenEnv = z.object({
  KAFKA_BROKERS: fields.kafkaBrokers.optional(),
  DATABASE_URL: fields.postgresUrl.optional(),
  SMTP_URL: fields.smtpUrl.optional(),
});

/** Every variable a stack's `env` can hold. */
export const STACK_ENV_NAMES: readonly string[] = [...Object.keys(givenEnv.shape), 'INBOX_URL', ...SECURE_ENV_NAMES];

export interface Stack {
  dataDir: string;
  /** KAFKA_BROKERS, DATABASE_URL, SMTP_URL (+ INBOX_URL when MailDev runs). */
  env: Record<string, string>;
  kafka: KafkaCluster | null;
  postgres: PostgresServer | null;
  inbox: Inbox | null;
  stop(): Promise<void>;
}

/** Brings up whatever is not given, in parallel; on any failure stops what did start. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const given = parseEnv(givenEnv, options.env ?? process.env);
  const say = options.progress ?? (() => {});
  mkdirSync(options.dataDir, { recursive: true });

  const kafka = given.KAFKA_BROKERS
    ? null
    : new KafkaCluster({
        dir: join(options.dataDir, 'kafka'),
        basePort: options.kafkaPort ?? 9092,
        jvmFlags: options.kafkaJvmFlags,
        secureListener: options.kafkaSecureListener,
      });
  const postgres = given.DATABASE_URL
    ? null
    : new PostgresServer({
        dataDir: join(options.dataDir, 'postgres', 'data'),
        port: options.postgresPort ?? 5432,
        tls: options.postgresTls,
      });
  const inbox =
    given.SMTP_URL || options.inbox === false
      ? null
      : new Inbox({ smtpPort: options.inboxSmtpPort ?? 1025, webPort: options.inboxWebPort ?? 1080 });

  const stop = async () => {
    await Promise.allSettled([kafka?.stop(), postgres?.stop(), inbox?.stop()]);
  };

  const started = Date.now();
  const tasks: Promise<unknown>[] = [];
  if (kafka) tasks.push(kafka.start().then(() => say(`kafka: 3 nodes ready at ${kafka.brokers}`)));
  if (postgres)
    tasks.push(
      postgres
        .initialise()
        .then(() => postgres.start())
        .then(() => say('postgres: ready')),
    );
  if (given.DATABASE_URL) tasks.push(checkPostgresReachable(given.DATABASE_URL));
  if (inbox) tasks.push(inbox.start().then(() => say(`inbox: ready at ${inbox.webUrl}`)));
  const results = await Promise.allSettled(tasks);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  say(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const env: Record<string, string> = {
    KAFKA_BROKERS: given.KAFKA_BROKERS?.join(',') ?? kafka?.brokers ?? '',
    DATABASE_URL: (options.env ?? process.env).DATABASE_URL || (postgres?.url ?? ''),
    SMTP_URL: (options.env ?? process.env).SMTP_URL || (inbox?.smtpUrl ?? ''),
  };
  if (inbox) env.INBOX_URL = inbox.webUrl;
  if (kafka?.secure) {
    env.STACK_KAFKA_SECURE_BROKERS = kafka.addresses(SECURE_PORT_OFFSET);
    env.STACK_KAFKA_MTLS_BROKERS = kafka.addresses(MTLS_PORT_OFFSET);
    // Where a test's proxy listens (kafka-proxied-listener.ts).
    env.STACK_KAFKA_PROXIED_BROKERS = kafka.addresses(PROXIED_ADVERTISED_OFFSET);
    env.STACK_KAFKA_SECURE_CA_FILE = kafka.secure.caFile;
    env.STACK_KAFKA_SECURE_KEY_FILE = kafka.secure.keyFile;
    env.STACK_KAFKA_SECURE_USERNAME = kafka.secure.username;
    env.STACK_KAFKA_SECURE_PASSWORD = kafka.secure.password;
    // The test's OAuth provider signs tokens with this key (kafka-oauth.ts).
    env.STACK_KAFKA_OAUTH_KEY_FILE = kafka.secure.oauth.keyFile;
    env.STACK_KAFKA_OAUTH_KID = kafka.secure.oauth.kid;
    env.STACK_KAFKA_OAUTH_AUDIENCE = kafka.secure.oauth.audience;
  }
  if (postgres?.caFile) env.STACK_POSTGRES_CA_FILE = postgres.caFile;
  return { dataDir: options.dataDir, env, kafka, postgres, inbox, stop };
}
