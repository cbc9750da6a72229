import t from 'tap';
import { sleep } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import { System } from './harness.js';

t.test('3. SIGKILL the mailer mid-stream, restart it → 0 lost; each duplicate keeps its Message-ID', async (t) => {
  // TEST_TIMINGS: the restarted mailer waits out the killed one's session and its claims' TTL
  // (10 s and 8 s here, not 30 s and 60 s). e2e 13 (restarts.test.ts) runs this on the defaults.
  const system = await System.start(t, { mailers: 1, testTimings: true });
  system.sink.delayMs = 3;
  const load = system.load(16, { total: 1_500 });
  await eventually(() => system.sink.received.length >= 300, 60_000);
  system.mailers[0]!.child.kill('SIGKILL');
  await system.mailers[0]!.exited;
  await sleep(500);
  await system.startMailer();
  await load.finished;
  const s = await system.reconcile('mailer SIGKILL');
  t.equal(s.lost, 0, 'none lost');
  t.ok(s.duplicatesKeptMessageId, 'every duplicate has its original Message-ID');
  t.ok(s.duplicated <= 24, `duplicates bounded by the sends in flight (${s.duplicated})`);
  t.equal(s.ledgerSent, s.accepted);
});

t.test('4. scale mailers 1 → 3 → 1 mid-stream → 0 lost, 0 duplicates', async (t) => {
  const system = await System.start(t, { mailers: 1 });
  system.sink.delayMs = 3;
  const load = system.load(16, { total: 2_000 });
  await eventually(() => system.sink.received.length >= 300, 60_000);
  await Promise.all([system.startMailer(), system.startMailer()]);
  await eventually(() => system.sink.received.length >= 900, 60_000);
  for (const m of system.mailers.slice(0, 2)) m.child.kill('SIGTERM');
  const exits = await Promise.all(system.mailers.slice(0, 2).map((m) => m.exited));
  t.same(
    exits.map((e) => e.code),
    [0, 0],
    'scaled down cleanly',
  );
  await load.finished;
  const s = await system.reconcile('scale 1→3→1');
  t.equal(s.lost, 0);
  t.equal(s.duplicated, 0, 'graceful scaling sends nothing twice');
});

t.test('8. SIGTERM the mailer under load → exits within its deadline, 0 lost, 0 duplicates', async (t) => {
  // Tighter than the default 30 s drain deadline, so "within its deadline" means 10 s; the
  // default one drains in packages/stack/test/cli-start.test.ts (Ctrl-C to npm start).
  const system = await System.start(t, { mailers: 1, mailer: { SHUTDOWN_TIMEOUT_MS: '10000' } });
  system.sink.delayMs = 3;
  const load = system.load(16, { total: 1_500 });
  await eventually(() => system.sink.received.length >= 300, 60_000);
  const started = Date.now();
  system.mailers[0]!.child.kill('SIGTERM');
  const { code } = await system.mailers[0]!.exited;
  const took = Date.now() - started;
  t.equal(code, 0, 'exit 0');
  t.ok(took < 10_000, `within the 10 s deadline (${took} ms)`);
  await system.startMailer();
  await load.finished;
  const s = await system.reconcile('mailer SIGTERM');
  t.equal(s.lost, 0);
  t.equal(s.duplicated, 0);
});
