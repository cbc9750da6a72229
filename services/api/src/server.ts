import { serve } from '@postline/runtime';
import { app, serverOptions } from './app.js';
import { loadConfig } from './config.js';

// SIGTERM: stop accepting (new requests get a 503), answer every request in flight, flush the
// producer, disconnect, exit 0.
await serve({
  name: 'postline-api',
  loadConfig,
  app,
  serverOptions,
  listen: (config) => ({ port: config.PORT, host: config.HOST }),
  beforeStart: (config, log) => {
    if (config.usingDevDefaults) {
      log.warn(
        { apiKeyName: config.API_KEYS[0]?.name, senderDomains: config.SENDER_DOMAINS },
        'API_KEYS or SENDER_DOMAINS not set: development defaults in use',
      );
    }
  },
});
