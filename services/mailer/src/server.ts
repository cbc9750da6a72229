import { createLogger } from '@postline/runtime';
import closeWithGrace from 'close-with-grace';
import Fastify from 'fastify';
import { app } from './app.js';
import { loadConfig } from './config.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}

const logger = createLogger({ name: 'postline-mailer', level: config.LOG_LEVEL, base: { mailerId: config.MAILER_ID } });
const server = Fastify({ loggerInstance: logger, forceCloseConnections: true });
try {
  await server.register(app, { config });
} catch (error) {
  logger.fatal({ err: error }, 'could not start: are KAFKA_BROKERS and DATABASE_URL reachable?');
  process.exit(1);
}

// SIGTERM: stop fetching, finish and record the sends in flight, commit, leave the group,
// close the SMTP pool; past SHUTDOWN_TIMEOUT_MS the process exits anyway (nothing is lost:
// uncommitted records are redelivered, and a resend carries the same Message-ID).
closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, 'closing after an error');
  logger.info({ signal }, 'shutting down');
  await server.close();
  logger.info('shut down');
});

await server.listen({ port: config.METRICS_PORT, host: config.METRICS_HOST });
logger.info({ smtp: config.SMTP_URL.replace(/\/\/[^@/]*@/, '//***@'), group: config.CONSUMER_GROUP }, 'mailer started');
