import { type DestinationStream, type LogFn, type Logger, type LoggerOptions, pino } from 'pino';
import { censorNested, errSerializer, REDACTED, reqSerializer } from './redact.js';
import { stdoutDestination } from './stdout-destination.js';

/**
 * Top-level fields never logged: credentials, and anything that carries an email's content.
 * Email bodies and attachments are personal data and can be megabytes.
 */
export const REDACT_PATHS = ['headers.authorization', 'apiKey', 'body', 'text', 'html', 'attachments', 'databaseUrl', 'smtpUrl'];

/** JSON everywhere (log shippers read it), human-readable lines when a person watches a terminal. */
export function createLogger(options: { name: string; level: string } & LoggerOptions, destination?: DestinationStream): Logger {
  const pretty = process.stdout.isTTY && !destination;
  const config: LoggerOptions = {
    // Exact paths only: pino runs a path starting with `*` as a redactor over every field of every
    // line and every child's bindings, which made a request's access line 2.5 times as costly
    // (docs/benchmarks.md). The same keys one level down are censored by the formatters instead.
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    formatters: { log: censorNested },
    // Never a client or socket object, whatever a library attached to its error; a request as a
    // fixed set of fields, never its headers (fastify uses the instance's `req` over its own).
    serializers: { err: errSerializer, error: errSerializer, req: reqSerializer },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
    ...options,
  };
  // Without a destination: a terminal gets pino-pretty's transport, anything else stdout, bounded.
  const logger = destination
    ? pino(config, destination)
    : pretty
      ? pino(config)
      : pino(
          config,
          stdoutDestination((droppedLines) => logger.warn({ droppedLines }, 'log lines dropped: stdout was not read')),
        );
  // A child's bindings skip the formatters (pino resets them for children), so they are censored
  // here; every descendant inherits this `child` (pino makes children with Object.create).
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, censorNested(bindings), childOptions);
  } as typeof child;
  return logger;
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
