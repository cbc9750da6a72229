import { Kafka, type KafkaConfig, logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';
import type { LogSink } from './logger.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** Routes kafkajs' own logs into pino, object first, with a constant message. */
function pinoLogCreator(logger: LogSink) {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      child[LEVELS[level] ?? 'info']({ ...rest, kafkaMessage: message }, 'kafkajs');
    };
}

export function createKafka(options: { brokers: string[]; clientId: string; logger: LogSink } & Partial<KafkaConfig>): Kafka {
  const { brokers, clientId, logger, ...rest } = options;
  return new Kafka({
    brokers,
    clientId,
    logLevel: KafkaLogLevel.WARN,
    logCreator: pinoLogCreator(logger),
    connectionTimeout: 3_000,
    ...rest,
  });
}
