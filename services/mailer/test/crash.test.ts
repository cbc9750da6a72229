import t from 'tap';
import { stackControl } from '../../../packages/stack/src/control-client.js';
import { sleep } from '../../../test/helpers/env.js';
import { envelope, eventually, ledgerPool, ledgerRows, mailerFixture, produce, startMailer } from '../../../test/helpers/mailer.js';
import { spawnService } from '../../../test/helpers/processes-mailer.js';

const control = stackControl();
const N = 600;

t.test(
  'Postgres stopped for 10 s mid-stream → every email sent exactly once after it returns',
  { skip: !control && 'external stack' },
  async (t) => {
    const { sink, env } = await mailerFixture(t, {}, { delayMs: 5 });
    const envelopes = Array.from({ length: N }, () => envelope());
    await produce(env.EMAILS_TOPIC!, envelopes);
    await startMailer(t, env);
    t.ok(await eventually(() => sink.received.length >= 100, 60_000), 'mid-stream');
    t.teardown(() => control!.postgres('start'));
    await control!.postgres('stop');
    const atStop = sink.received.length;
    await sleep(10_000);
    t.ok(
      sink.received.length - atStop <= 24,
      `at most the sends in flight finished while the ledger was down (${sink.received.length - atStop})`,
    );
    await control!.postgres('start');
    t.ok(await eventually(() => sink.received.length >= N, 120_000), `all delivered (${sink.received.length})`);
    await sleep(1_000);
    const counts = sink.counts();
    t.equal(counts.size, N, 'every email');
    t.same(
      [...counts].filter(([, n]) => n > 1),
      [],
      'none twice',
    );
    const pool = ledgerPool(t);
    const rows = await ledgerRows(
      pool,
      envelopes.map((e) => e.id),
    );
    t.ok(
      await eventually(
        async () =>
          [
            ...(
              await ledgerRows(
                pool,
                envelopes.map((e) => e.id),
              )
            ).values(),
          ].filter((r) => r.state === 'sent').length === N,
      ),
      'all sent in the ledger',
    );
    t.equal(rows.size, N);
  },
);

t.test('SIGKILL a mailer mid-stream and start it again → every email sent; duplicates only in flight, same Message-ID', async (t) => {
  // The restarted mailer waits out the dead one's claims: 4 s here instead of 60 s, so the test
  // takes seconds (SEND_TIMEOUT_MS stays below it, as the config requires). e2e 13 and 14
  // (test/e2e/restarts.test.ts) run the same path with the default claim TTL and session.
  const { sink, env } = await mailerFixture(t, { CLAIM_TTL_MS: '4000', SEND_TIMEOUT_MS: '3500' }, { delayMs: 5 });
  const envelopes = Array.from({ length: N }, () => envelope());
  await produce(env.EMAILS_TOPIC!, envelopes);
  const first = spawnService(t, 'mailer', env);
  t.ok(await eventually(() => sink.received.length >= 150, 60_000), 'mid-stream');
  first.child.kill('SIGKILL');
  const { signal } = await first.exited;
  t.equal(signal, 'SIGKILL');
  const atKill = sink.received.length;
  const second = spawnService(t, 'mailer', env);
  t.ok(
    await eventually(() => sink.counts().size >= N, 120_000),
    `every email arrived (${sink.counts().size}/${N}; ${second.output().slice(-300)})`,
  );
  const counts = sink.counts();
  const expected = new Set(envelopes.map((e) => `<${e.id}@mail.test.example>`));
  t.same(
    [...counts.keys()].filter((k) => !expected.has(k)),
    [],
    'every Message-ID is one of ours: a resend carries its original Message-ID',
  );
  const duplicates = [...counts].filter(([, n]) => n > 1);
  // In flight at most: PARTITION_CONCURRENCY (6) × SENDS_PER_PARTITION (4).
  t.ok(duplicates.length <= 24, `${duplicates.length} duplicates (sent before the kill at ${atKill}, not yet recorded)`);
  t.ok(
    duplicates.every(([, n]) => n === 2),
    'never more than twice',
  );
  const pool = ledgerPool(t);
  t.ok(
    await eventually(
      async () =>
        [
          ...(
            await ledgerRows(
              pool,
              envelopes.map((e) => e.id),
            )
          ).values(),
        ].every((r) => r.state === 'sent'),
      30_000,
    ),
    'all sent in the ledger',
  );
});

t.test('SIGTERM a mailer under load → exits 0 within its deadline; 0 lost, 0 duplicates after restart', async (t) => {
  // A tighter drain deadline than the default 30 s, so "exits within its deadline" is checked
  // against 10 s; the default one drains in packages/stack/test/cli-start.test.ts (Ctrl-C).
  const { sink, env } = await mailerFixture(t, { SHUTDOWN_TIMEOUT_MS: '10000' }, { delayMs: 5 });
  const envelopes = Array.from({ length: N }, () => envelope());
  await produce(env.EMAILS_TOPIC!, envelopes);
  const first = spawnService(t, 'mailer', env);
  t.ok(await eventually(() => sink.received.length >= 150, 60_000), 'mid-stream');
  const started = Date.now();
  first.child.kill('SIGTERM');
  const { code } = await first.exited;
  const took = Date.now() - started;
  t.equal(code, 0, 'exits 0');
  t.ok(took < 10_000, `within the deadline (${took} ms)`);
  spawnService(t, 'mailer', env);
  t.ok(await eventually(() => sink.counts().size >= N, 120_000), 'every email arrived');
  await sleep(1_000);
  t.same(
    [...sink.counts()].filter(([, n]) => n > 1),
    [],
    'none twice',
  );
});

t.test('3 mailers share the group; one stopped mid-stream → nothing lost, nothing twice', async (t) => {
  const { sink, env } = await mailerFixture(t, {}, { delayMs: 5 });
  const n = 1500;
  const envelopes = Array.from({ length: n }, () => envelope());
  const mailers = [spawnService(t, 'mailer', env), spawnService(t, 'mailer', env), spawnService(t, 'mailer', env)];
  await sleep(3_000);
  await produce(env.EMAILS_TOPIC!, envelopes);
  t.ok(await eventually(() => sink.received.length >= 300, 60_000), 'mid-stream');
  mailers[1]!.child.kill('SIGTERM');
  t.equal((await mailers[1]!.exited).code, 0, 'the stopped one exits cleanly');
  t.ok(await eventually(() => sink.counts().size >= n, 120_000), `all ${n} delivered (${sink.counts().size})`);
  await sleep(1_000);
  t.same(
    [...sink.counts()].filter(([, c]) => c > 1),
    [],
    'none twice',
  );
});
