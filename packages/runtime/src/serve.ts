import closeWithGrace from 'close-with-grace';
import Fastify, { type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { LoggerOptions } from 'pino';
import { ConfigError } from './config-error.js';
import { createLogger, type Logger } from './logger.js';
import './startup.js';

export interface ServeOptions<C extends { LOG_LEVEL: string; SHUTDOWN_TIMEOUT_MS: number }> {
  name: string;
  loadConfig(): C;
  /** The whole service as one plugin (src/app.ts). */
  app: FastifyPluginAsync<{ config: C }>;
  listen(config: C): { port: number; host: string };
  serverOptions?(config: C): FastifyServerOptions;
  logBindings?(config: C): LoggerOptions['base'];
  /** After the logger exists, before anything connects (e.g. warn about development defaults). */
  beforeStart?(config: C, log: Logger): void;
  afterStart?(config: C, log: Logger): void;
}

/**
 * A service's src/server.ts in one call: parse the config (a bad value prints one sentence
 * and exits 1), build the app, listen, and on SIGINT/SIGTERM close it — the app's onClose
 * hooks drain the work — exiting anyway after SHUTDOWN_TIMEOUT_MS.
 */
export async function serve<C extends { LOG_LEVEL: string; SHUTDOWN_TIMEOUT_MS: number }>(options: ServeOptions<C>): Promise<void> {
  let config: C;
  try {
    config = options.loadConfig();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger({
    name: options.name,
    level: config.LOG_LEVEL,
    ...(options.logBindings ? { base: options.logBindings(config) } : {}),
  });
  options.beforeStart?.(config, logger);
  const server = Fastify({ loggerInstance: logger, ...options.serverOptions?.(config) });
  try {
    await server.register(options.app, { config });
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    process.exit(1);
  }
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'closing after an error');
    logger.info({ signal }, 'shutting down');
    await server.close();
    logger.info('shut down');
  });
  await server.listen(options.listen(config));
  options.afterStart?.(config, logger);
  // Boot steps (startup.ts) run after listen; one that fails after its retries ends the process.
  if (server.hasDecorator('startup')) {
    server.startup.onFatal((step, error) => {
      // A ConfigError (a weak existing topic) fails at once; its sentence says what to change, and
      // its stack says nothing an operator needs.
      if (error instanceof ConfigError) logger.fatal({ step, problem: error.message }, 'could not start: a setting must change');
      else logger.fatal({ err: error, step }, 'could not start: are KAFKA_BROKERS and DATABASE_URL reachable?');
      process.exit(1);
    });
    server.startup.settled().then(
      () => logger.info('ready'),
      () => {},
    );
  }
}
