import { createLogger } from '@postline/runtime';
import closeWithGrace from 'close-with-grace';
import Fastify from 'fastify';
import { app, serverOptions } from './app.js';
import { loadConfig } from './config.js';

// Config problems print one sentence and exit 1, before anything connects.
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}

const logger = createLogger({ name: 'postline-api', level: config.LOG_LEVEL });
if (config.usingDevDefaults) {
  logger.warn(
    { apiKeyName: config.API_KEYS[0]?.name, senderDomains: config.SENDER_DOMAINS },
    'API_KEYS or SENDER_DOMAINS not set: development defaults in use',
  );
}

const server = Fastify({ loggerInstance: logger, ...serverOptions(config) });
try {
  await server.register(app, { config });
} catch (error) {
  // Kafka or Postgres unreachable at boot: say so in one line; the orchestrator restarts us.
  logger.fatal({ err: error }, 'could not start: are KAFKA_BROKERS and DATABASE_URL reachable?');
  process.exit(1);
}

closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, 'closing after an error');
  logger.info({ signal }, 'shutting down');
  await server.close();
  logger.info('shut down');
});

await server.listen({ port: config.PORT, host: config.HOST });
