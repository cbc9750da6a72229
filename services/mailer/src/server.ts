import { maskUrl, serve } from '@postline/runtime';
import { app } from './app.js';
import { loadConfig } from './config.js';

// SIGTERM: stop fetching, finish and record the sends in flight, commit, leave the group,
// close the SMTP pool; past SHUTDOWN_TIMEOUT_MS the process exits anyway (nothing is lost:
// uncommitted records are redelivered, and a resend carries the same Message-ID).
await serve({
  name: 'postline-mailer',
  loadConfig,
  app,
  serverOptions: () => ({ forceCloseConnections: true }),
  logBindings: (config) => ({ mailerId: config.MAILER_ID }),
  listen: (config) => ({ port: config.METRICS_PORT, host: config.METRICS_HOST }),
  afterStart: (config, log) =>
    log.info({ relays: config.relays.map((r) => `${r.name} ${maskUrl(r.url)}`), group: config.CONSUMER_GROUP }, 'mailer started'),
});
