// The API as `bench/api-alone.mjs` runs it: the real app of the build at API_ROOT (this checkout by
// default), its Kafka producer and Postgres pool replaced by in-memory stand-ins that answer at the
// next turn. What is left is the API's own work a request: HTTP, auth, validation, the envelope,
// the access line, the metrics, and the GC they cause.
import { join } from 'node:path';
import { nextTurn } from './next-turn.mjs';

const root = process.env.API_ROOT ?? join(import.meta.dirname, '../..');
const { app, serverOptions } = await import(join(root, 'services/api/dist/app.js'));
const { loadConfig } = await import(join(root, 'services/api/dist/config.js'));
const { createLogger } = await import(join(root, 'packages/runtime/dist/index.js'));
const { default: Fastify } = await import(join(root, 'node_modules/fastify/fastify.js'));

const config = loadConfig({ ...process.env, KAFKA_BROKERS: '127.0.0.1:1', DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused' });
// As the service logs: JSON to stdout (the bench's /dev/null), at the level users run.
const server = Fastify({ loggerInstance: createLogger({ name: 'postline-api', level: config.LOG_LEVEL }), ...serverOptions(config) });
await server.register(app, {
  config,
  resources: async (instance) => {
    instance.decorate('ledger', {
      query: async () => ({ rows: [] }),
      connect: async () => {
        throw new Error('no ledger here');
      },
    });
    // Builds before 2026-12-04 ask for suppressions apart from their rows; later ones in the rows' statement.
    const nobody = async () => {
      await nextTurn();
      return [];
    };
    instance.decorate('recordAccepted', nobody);
    instance.decorate('suppressedAmong', nobody);
    const enqueue = async (messages) => {
      await nextTurn();
      return messages.map(() => ({ topic: 'emails', partition: 0 }));
    };
    instance.decorate('emailQueue', { enqueue, ready: async () => true, keyedPartitionOf: () => 0 });
  },
});
await server.listen({ port: config.PORT, host: '127.0.0.1' });
// SIGTERM ends it through exit, so a --cpu-prof profile is written.
process.once('SIGTERM', () => process.exit(0));
