import { serve } from '@postline/runtime';
import { bounceApp } from './bounces/app.js';
import { loadConfig } from './bounces/config.js';

// The bounce and complaint listener, a role of its own (README, "Asynchronous bounces and
// complaints"). SIGTERM: stop taking reports, finish the ones in flight, close.
await serve({
  name: 'postline-bounces',
  loadConfig,
  app: bounceApp,
  serverOptions: () => ({ forceCloseConnections: true }),
  listen: (config) => ({ port: config.METRICS_PORT, host: config.METRICS_HOST }),
});
