import { serve } from '@postline/runtime';
import { app } from './app.js';
import { loadConfig } from './config.js';

// SIGTERM: stop consuming (what was read is queued in the ledger and committed), finish the
// deliveries in flight, close. A delivery cut off is retried by any dispatcher once its lease lapses.
await serve({
  name: 'postline-webhooks',
  loadConfig,
  app,
  serverOptions: () => ({ forceCloseConnections: true }),
  listen: (config) => ({ port: config.METRICS_PORT, host: config.METRICS_HOST }),
  afterStart: (config, log) =>
    log.info({ group: config.WEBHOOK_CONSUMER_GROUP, allowPrivate: config.targets.allowPrivate }, 'webhook dispatcher started'),
});
