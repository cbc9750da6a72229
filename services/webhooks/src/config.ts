import {
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

const schema = z.object({
  NODE_ENV: fields.nodeEnv,
  LOG_LEVEL: fields.logLevel,
  ...kafkaConnectionFields,
  DATABASE_URL: fields.postgresUrl,
  DATABASE_POOL_SIZE: fields.databasePoolSize(10),
  EVENTS_TOPIC: fields.topicFields.EVENTS_TOPIC,
  EVENTS_PARTITIONS: fields.topicFields.EVENTS_PARTITIONS,
  /** Not CONSUMER_GROUP: that is the mailers' group, and config shared with them (compose, k8s) must never put the dispatcher in it. */
  WEBHOOK_CONSUMER_GROUP: z.string().min(1).default('postline-webhooks'),
  SESSION_TIMEOUT_MS: fields.positiveInt.default(30_000),
  /** What a crash leaves uncommitted is read again, and its delivery rows are not queued twice. */
  COMMIT_INTERVAL_MS: fields.commitIntervalMs,
  /** Deliveries in flight in this process, and at most this many to any one endpoint. */
  WEBHOOK_CONCURRENCY: fields.positiveInt.max(1000).default(64),
  WEBHOOK_CONCURRENCY_PER_ENDPOINT: fields.positiveInt.max(100).default(4),
  /** One delivery: connect, send, and the receiver's answer. */
  WEBHOOK_TIMEOUT_MS: fields.positiveInt.default(10_000),
  ...webhookTargetFields,
  METRICS_PORT: fields.port.default(9465),
  METRICS_HOST: z.string().default('127.0.0.1'),
  SHUTDOWN_TIMEOUT_MS: fields.positiveInt.default(30_000),
  BOOT_TIMEOUT_MS: fields.positiveInt.default(120_000),
});

/** Every environment variable this service reads (packaging tests check compose and k8s against it). */
export const ENV_VARS: readonly string[] = Object.keys(schema.shape);

export type WebhooksConfig = z.output<typeof schema> & {
  /** Which addresses a delivery may connect to (WEBHOOK_ALLOW_PRIVATE, WEBHOOK_DNS_SERVERS). */
  targets: TargetPolicy;
  /** The brokers, and TLS/SASL if set (KAFKA_*). */
  kafka: KafkaConnection;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WebhooksConfig {
  const c = parseEnv(schema, env);
  return { ...c, targets: webhookTargetPolicy(c, fields.allowsDevDefaults(c.NODE_ENV)), kafka: kafkaConnection(c) };
}
