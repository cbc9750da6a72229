import type pg from 'pg';
import { Counter, Registry } from 'prom-client';
import type { Test } from 'tap';
import { type BounceConfig, loadConfig } from '../../services/api/src/bounces/config.js';
import { createBounceListener } from '../../services/api/src/bounces/listener.js';
import { quietLogger } from './env.js';

/**
 * The bounce listener with its defaults and no ledger, for what it decides before a report's data
 * reaches Postgres (connections, recipients). Closed at the end of `t`.
 */
export async function startMemoryBounceListener(
  t: Test,
  overrides: Record<string, string> = {},
): Promise<{ port: number; config: BounceConfig; outcome: (name: string) => Promise<number> }> {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused', ...overrides });
  const reports = new Counter({ name: 'reports', help: 'reports', labelNames: ['outcome'], registers: [new Registry()] });
  const listener = createBounceListener({
    config,
    db: {} as pg.Pool,
    log: quietLogger,
    reports,
  });
  listener.on('error', () => {});
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => listener.close(resolve)));
  const outcome = async (name: string) => (await reports.get()).values.find((v) => v.labels.outcome === name)?.value ?? 0;
  return { port: (listener.server.address() as { port: number }).port, config, outcome };
}
