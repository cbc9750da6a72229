import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import type { LogSink } from './logger.js';
import { retryUntil } from './with-retry.js';

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Topic-level configs, e.g. max.message.bytes. */
  config?: Record<string, string>;
}

/** Every topic is replicated 3 ways and refuses writes with fewer than 2 in sync. */
const DURABLE = { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' };

/**
 * Creates the topics that do not exist yet. Idempotent and safe to race: two services
 * starting together may both try, and "already exists" is success. It never shrinks or
 * reconfigures an existing topic (partition changes remap keys; that is an operator's call).
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[], replicationFactor = 3, timeoutMs = 30_000): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length === 0) return [];
  const topics: ITopicConfig[] = missing.map((s) => ({
    topic: s.name,
    numPartitions: s.partitions,
    replicationFactor,
    configEntries: Object.entries({ ...DURABLE, ...s.config }).map(([name, value]) => ({ name, value })),
  }));
  try {
    // Not kafkajs' waitForLeaders: its polling lets a retriable UNKNOWN_TOPIC_OR_PARTITION
    // escape as an unhandled rejection, which would crash a service at boot.
    await admin.createTopics({ topics, waitForLeaders: false });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  await waitForLeaders(
    admin,
    missing.map((s) => s.name),
    timeoutMs,
  );
  return missing.map((s) => s.name);
}

/** Until every partition of `names` has a leader: producing before that fails. */
async function waitForLeaders(admin: Admin, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      if (topics.length === names.length && topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
        return;
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function isAlreadyExists(error: unknown): boolean {
  const e = error as { type?: string; errors?: { type?: string }[] };
  if (e.type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => x.type === 'TOPIC_ALREADY_EXISTS');
}

/** At service start: connects an admin and provisions `specs`, retrying until `deadlineMs`. */
export async function provisionTopics(kafka: Kafka, specs: TopicSpec[], log: LogSink, deadlineMs: number): Promise<Admin> {
  const admin = kafka.admin();
  await retryUntil(
    'kafka topics',
    async () => {
      await admin.connect();
      await ensureTopics(admin, specs);
    },
    log,
    deadlineMs,
  );
  return admin;
}
