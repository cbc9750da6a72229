import { type Admin, type ITopicConfig, Kafka, logLevel, type PartitionMetadata } from 'kafkajs';
import type { KafkaConnection } from './kafka-connection.js';
import type { LogSink } from './logger.js';
import { monotonicMs } from './monotonic-clock.js';
import { checkExistingTopics, DURABLE } from './topic-durability.js';
import { retryUntil } from './with-retry.js';

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Topic-level configs, e.g. max.message.bytes. */
  config?: Record<string, string>;
}

/** What a client needs beyond a broker's address to reach it (TLS, SASL): the probes below connect on their own. */
export type KafkaSecurity = Omit<KafkaConnection, 'brokers'>;

/**
 * Creates the topics that do not exist yet, replicated 3 ways and refusing writes with fewer than
 * 2 in sync. Idempotent and safe to race: two services starting together may both try, and
 * "already exists" is success. It never shrinks or reconfigures an existing topic (partition
 * changes remap keys; that is an operator's call), but refuses one weaker than its own
 * (topic-durability.ts): a ConfigError, which boot does not retry.
 */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
  {
    replicationFactor = 3,
    timeoutMs = 30_000,
    security = {},
  }: { replicationFactor?: number; timeoutMs?: number; security?: KafkaSecurity } = {},
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  await checkExistingTopics(
    admin,
    specs.filter((s) => existing.has(s.name)),
    replicationFactor,
  );
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length === 0) return [];
  const topics: ITopicConfig[] = missing.map((s) => ({
    topic: s.name,
    numPartitions: s.partitions,
    replicationFactor,
    configEntries: Object.entries({ ...DURABLE, ...s.config }).map(([name, value]) => ({ name, value })),
  }));
  let existed: string[] = [];
  try {
    // Not kafkajs' waitForLeaders: its polling lets a retriable UNKNOWN_TOPIC_OR_PARTITION
    // escape as an unhandled rejection, which would crash a service at boot.
    await admin.createTopics({ topics, waitForLeaders: false });
  } catch (error) {
    existed = alreadyExisting(error);
    if (existed.length === 0) throw error;
  }
  await waitForLeaders(
    admin,
    missing.map((s) => s.name),
    timeoutMs,
    security,
  );
  // Another service of ours, or the cluster auto-creating it with its defaults: checked alike.
  await checkExistingTopics(
    admin,
    missing.filter((s) => existed.includes(s.name)),
    replicationFactor,
  );
  return missing.map((s) => s.name).filter((name) => !existed.includes(name));
}

/**
 * Until every broker knows every partition of `names` with a leader. Each broker learns of a new
 * topic from the metadata log in its own time; one that has not yet says the topic does not
 * exist, so a single broker's answer is not enough (seen on a busy 2-core machine). A client
 * seeded with one broker only asks that broker.
 */
export async function waitForLeaders(admin: Admin, names: string[], timeoutMs: number, security: KafkaSecurity = {}): Promise<void> {
  const deadline = monotonicMs() + timeoutMs;
  const { brokers } = await admin.describeCluster();
  for (const { host, port } of brokers) {
    // This broker alone, reached as every client of the process reaches the cluster.
    const { ssl, sasl } = security;
    const probe = new Kafka({
      clientId: 'postline-topics-probe',
      brokers: [`${host}:${port}`],
      logLevel: logLevel.NOTHING,
      ssl,
      sasl,
    }).admin();
    try {
      await probe.connect();
      await untilLeaders(probe, names, deadline, timeoutMs);
    } finally {
      await probe.disconnect().catch(() => {});
    }
  }
}

async function untilLeaders(admin: Admin, names: string[], deadline: number, timeoutMs: number): Promise<void> {
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      if (topics.length === names.length && topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
        return;
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable) throw error;
    }
    if (monotonicMs() > deadline) throw new Error(`topics ${names.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The topics a failed createTopics reported as already existing, if that is all it reported. */
function alreadyExisting(error: unknown): string[] {
  const e = error as { type?: string; topic?: string; errors?: { type?: string; topic?: string }[] };
  if (e.type === 'TOPIC_ALREADY_EXISTS') return [e.topic ?? ''];
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => x.type === 'TOPIC_ALREADY_EXISTS'))
    return e.errors.map((x) => x.topic ?? '');
  return [];
}

/** At service start: connects an admin and provisions `specs`, retrying until `deadlineMs`. */
export async function provisionTopics(
  kafka: Kafka,
  specs: TopicSpec[],
  log: LogSink,
  deadlineMs: number,
  signal?: AbortSignal,
  security: KafkaSecurity = {},
): Promise<Admin> {
  const admin = kafka.admin();
  await retryUntil(
    'kafka topics',
    async () => {
      await admin.connect();
      await ensureTopics(admin, specs, { security });
    },
    log,
    deadlineMs,
    signal,
  );
  return admin;
}

/**
 * Each topic's partitions, for pinning messages to them (partition-split.ts). Fixed once the
 * topics exist: the services never repartition them (that would remap keys). Retried: a broker
 * that has not caught up with a just-created topic says it does not exist, or has no partitions.
 */
export async function topicPartitions(
  admin: Admin,
  topics: string[],
  log: LogSink,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<Map<string, PartitionMetadata[]>> {
  return retryUntil(
    'topic metadata',
    async () => {
      const known = new Map((await admin.fetchTopicMetadata({ topics })).topics.map((t) => [t.name, t.partitions]));
      const missing = topics.filter((name) => (known.get(name)?.length ?? 0) === 0);
      if (missing.length > 0) throw new Error(`no partitions known for ${missing.join(', ')} yet`);
      return known;
    },
    log,
    deadlineMs,
    signal,
  );
}
