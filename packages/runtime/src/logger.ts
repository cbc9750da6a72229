import { type DestinationStream, type LogFn, type Logger, type LoggerOptions, pino } from 'pino';
import { errSerializer } from './redact.js';

/**
 * Paths never logged: credentials, and anything that carries an email's content.
 * Email bodies and attachments are personal data and can be megabytes.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.pass',
  '*.secret',
  'apiKey',
  'body',
  'text',
  'html',
  'attachments',
  '*.text',
  '*.html',
  '*.attachments',
  'databaseUrl',
  'smtpUrl',
];

/** JSON everywhere (log shippers read it), human-readable lines when a person watches a terminal. */
export function createLogger(options: { name: string; level: string } & LoggerOptions, destination?: DestinationStream): Logger {
  const pretty = process.stdout.isTTY && !destination;
  const config: LoggerOptions = {
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Never a client or socket object, whatever a library attached to its error.
    serializers: { err: errSerializer, error: errSerializer },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
    ...options,
  };
  return destination ? pino(config, destination) : pino(config);
}

export type { Logger } from 'pino';

/** What shared code needs of a logger: satisfied by pino and by fastify's request/app loggers. */
export interface LogSink {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  child(bindings: Record<string, unknown>): LogSink;
}
