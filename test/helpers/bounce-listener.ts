import Fastify from 'fastify';
import type { Test } from 'tap';
import { bounceApp } from '../../services/api/src/bounces/app.js';
import { loadConfig } from '../../services/api/src/bounces/config.js';
import { quietLogger, stackEnv } from './env.js';

/**
 * The bounce listener's process (its app, as bounce-server.ts builds it) in this one, on the
 * stack's ledger, for mail to `domain`, its SMTP port on `bounceSmtpPort`. Closed at the end of `t`.
 */
export async function startBounceListener(t: Test, domain: string) {
  const app = Fastify({ loggerInstance: quietLogger });
  await app.register(bounceApp, {
    config: loadConfig({ NODE_ENV: 'test', DATABASE_URL: stackEnv().databaseUrl, BOUNCE_DOMAIN: domain, BOUNCE_SMTP_PORT: '0' }),
  });
  await app.ready();
  await app.startup.settled();
  t.teardown(() => app.close());
  return app;
}
