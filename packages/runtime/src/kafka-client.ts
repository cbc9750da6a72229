import { Kafka, type KafkaConfig, logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';
import type { LogSink } from './logger.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/**
 * kafkajs logs at error level what it then retries: a broker's error answer (`Response
 * JoinGroup…` "The coordinator is loading", "no leader … leadership election", "does not host
 * this topic-partition" while a new topic spreads) and each retried step. Those are the normal
 * sound of a cluster starting or failing over; the caller still sees a final failure. They are
 * warnings here, so an error-level line means something needs a person.
 */
export function kafkaLevel(level: number, log: { message: string; retryCount?: unknown }): 'error' | 'warn' | 'info' | 'debug' {
  const mapped = LEVELS[level] ?? 'info';
  if (mapped !== 'error') return mapped;
  const retried =
    log.message.startsWith('Response ') ||
    log.retryCount !== undefined ||
    /reconnecting/i.test(log.message) ||
    COORDINATOR_MOVING.test(log.message) ||
    // Follows every crash kafkajs restarts itself: the crash's own line carries its level.
    log.message.startsWith('Restarting the consumer in ');
  return retried ? 'warn' : 'error';
}

/**
 * A consumer that crashes because its group coordinator is still loading, or moved, is one
 * kafkajs restarts itself (the error is retriable): seen on a fresh cluster whose offsets topic
 * is still loading when a mailer joins. Any other crash stays an error.
 */
const COORDINATOR_MOVING =
  /^Crash: KafkaJSProtocolError: (The coordinator is loading|The coordinator is not available|This is not the correct coordinator)/;

/** Routes kafkajs' own logs into pino, object first, with a constant message. */
function pinoLogCreator(logger: LogSink) {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      const at = kafkaLevel(level, log);
      child[at]({ ...rest, kafkaMessage: message, ...(at !== LEVELS[level] ? { retriedByKafkajs: true } : {}) }, 'kafkajs');
    };
}

export function createKafka(options: { brokers: string[]; clientId: string; logger: LogSink } & Partial<KafkaConfig>): Kafka {
  const { brokers, clientId, logger, ...rest } = options;
  return new Kafka({
    // In a new order for each bootstrap connection kafkajs opens (every client's first, and again
    // after its seed broker failed), as Kafka's own clients start from a random node. In the order
    // given, every new client (a producer replaced after a failed send among them) asked the first
    // broker first, and one that accepts connections but answers nothing (e2e 24: a partial network
    // partition) held its connect for kafkajs' 30 s request timeout.
    brokers: () => shuffled(brokers),
    clientId,
    logLevel: KafkaLogLevel.WARN,
    logCreator: pinoLogCreator(logger),
    connectionTimeout: 3_000,
    ...rest,
  });
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/**
 * A consumer's own retries: enough to ride out a group coordinator that is still loading (a
 * fresh or restarted cluster) without crashing the consumer — which kafkajs logs at error level.
 */
export const CONSUMER_RETRY = { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000 };

/**
 * A backend client's retries (the mailer's, the dispatcher's): never give up on the cluster, and
 * look again within 2 s. Their work waits in Kafka; giving up would only crash the process.
 */
export const BACKEND_RETRY = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2_000 };
