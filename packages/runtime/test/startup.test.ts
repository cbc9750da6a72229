// test-plan: standalone
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import t from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { startupPlugin } from '../src/startup.js';
import { retryUntil } from '../src/with-retry.js';

t.test('boot steps run after ready, longer than fastify pluginTimeout, and readiness waits for them', async (t) => {
  // pluginTimeout 200 ms: a step awaited inside a plugin or onReady would kill the boot.
  const app = Fastify({ pluginTimeout: 200 });
  await app.register(startupPlugin);
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  void app.startup.step('slow dependency', () => gate);
  await app.ready();
  t.teardown(() => app.close());
  await sleep(400);
  t.notOk(app.startup.done, 'still booting past pluginTimeout, and the app is up');
  t.same(app.startup.pending(), ['slow dependency']);
  release();
  await app.startup.settled();
  t.ok(app.startup.done);
  t.same(app.startup.pending(), []);
});

t.test('a step that fails reports once through onFatal and settled() rejects', async (t) => {
  const app = Fastify();
  await app.register(startupPlugin);
  await app.ready();
  t.teardown(() => app.close());
  const fatal: string[] = [];
  app.startup.onFatal((step) => fatal.push(step));
  void app.startup.step('ledger', async () => {
    throw new Error('no Postgres');
  });
  await t.rejects(app.startup.settled(), /no Postgres/);
  t.same(fatal, ['ledger']);
  t.notOk(app.startup.done);
});

t.test('closing during boot aborts the retry loops at once instead of waiting BOOT_TIMEOUT_MS', async (t) => {
  const app = Fastify();
  await app.register(startupPlugin);
  await app.ready();
  const fatal: string[] = [];
  app.startup.onFatal((step) => fatal.push(step));
  let tries = 0;
  void app.startup.step('kafka', (signal) =>
    retryUntil(
      'kafka',
      async () => {
        tries++;
        throw new Error('refused');
      },
      quietLogger,
      120_000,
      signal,
    ),
  );
  await sleep(300);
  const started = Date.now();
  await app.close();
  t.ok(Date.now() - started < 2_000, `closed in ${Date.now() - started} ms`);
  t.ok(tries >= 1);
  t.same(fatal, [], 'an aborted boot is not a failure');
});
