import Fastify from 'fastify';
import t from 'tap';
import { sleep } from '../../../test/helpers/env.js';
import { uncommittedRecords } from '../../../test/helpers/kafka.js';
import {
  envelope,
  eventually,
  ledgerPool,
  ledgerRows,
  MESSAGE_ID_DOMAIN,
  mailerFixture,
  produce,
  startMailer,
} from '../../../test/helpers/mailer.js';
import { app as mailerApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

t.test(
  'a stuck SMTP server (greetings past the timeout, connections reset) → no partition stays stuck, all delivered, none failed',
  async (t) => {
    const { sink, env } = await mailerFixture(t);
    // Greetings slower than SMTP_TIMEOUT_MS (3 s here) and every connection reset every 200 ms:
    // the pool's requeue path that used to read a one-shot message stream twice.
    sink.greetingDelayMs = 3_500;
    const dropper = setInterval(() => sink.dropConnections(), 200);
    t.teardown(() => clearInterval(dropper));
    const envelopes = Array.from({ length: 200 }, () => envelope());
    await produce(env.EMAILS_TOPIC!, envelopes);
    const { app } = await startMailer(t, env);
    await sleep(10_000);
    clearInterval(dropper);
    sink.greetingDelayMs = 0;

    const ids = new Set(envelopes.map((e) => `<${e.id}@${MESSAGE_ID_DOMAIN}>`));
    t.ok(await eventually(() => [...ids].every((id) => sink.has(id)), 120_000, 250), 'every email arrived');
    const pool = ledgerPool(t);
    const rows = await ledgerRows(
      pool,
      envelopes.map((e) => e.id),
    );
    t.same(
      [...rows.values()].filter((r) => r.state !== 'sent').map((r) => `${r.id}: ${r.state} ${r.last_error}`),
      [],
      'all sent in the ledger, none failed',
    );
    t.ok(
      await eventually(async () => (await uncommittedRecords(env.EMAILS_TOPIC!, env.CONSUMER_GROUP!)) === 0, 30_000),
      'offsets committed to the end',
    );
    const dups = [...sink.counts()].filter(([id, n]) => ids.has(id) && n > 1);
    t.comment(`sessions ${sink.sessions}, duplicates ${dups.length} (each keeps its Message-ID)`);
    const uncertain = [...rows.values()].filter((r) => r.uncertain).length;
    t.ok(dups.length <= uncertain, `duplicates (${dups.length}) only where a send was uncertain (${uncertain})`);
    const health = await app.inject('/healthz');
    t.equal(health.statusCode, 200);
  },
);

t.test('a send that never settles is detected: /healthz and /readyz fail naming the partition, and the metric shows it', async (t) => {
  const { sink, env } = await mailerFixture(t, {
    // Overridden so the test takes seconds, not the default 5 minutes; the stall rule itself is
    // unit-tested with the defaults' arithmetic in stall-monitor.test.ts.
    STALL_TIMEOUT_MS: '7000',
    EMAILS_PARTITIONS: '1',
  });
  const config = loadConfig(env);
  const app = Fastify({ logger: { level: config.LOG_LEVEL } });
  await app.register(mailerApp, { config });
  // Fault injection: a send that never settles, as the old one-shot stream could leave it.
  const smtp = app.smtp;
  const realSend = smtp.send.bind(smtp);
  let release: (() => void) | null = null;
  smtp.send = (e) =>
    new Promise((resolve) => {
      release = () => resolve(realSend(e));
    });
  await app.ready();
  await app.startup.settled();
  t.teardown(async () => {
    release?.();
    await app.close();
  });
  await produce(env.EMAILS_TOPIC!, [envelope()]);

  t.ok(await eventually(async () => (await app.inject('/healthz')).statusCode === 503, 30_000, 500), '/healthz 503 once stalled');
  const ready = (await app.inject('/readyz')).json() as { stalled: { topic: string; partition: number; oldestOffset: string }[] };
  t.match(ready.stalled, [{ topic: env.EMAILS_TOPIC, partition: 0, oldestOffset: '0' }], '/readyz names the partition and offset');
  const metrics = (await app.inject('/metrics')).body;
  t.match(metrics, /postline_mailer_stalled_partitions 1/);
  t.match(metrics, /^postline_mailer_log_lines_dropped_total 0$/m, 'the process metrics count dropped log lines');
  const age = Number(
    new RegExp(`postline_mailer_partition_oldest_unfinished_seconds\\{topic="${env.EMAILS_TOPIC}",partition="0"\\} ([\\d.]+)`).exec(
      metrics,
    )?.[1],
  );
  t.ok(age >= 7, `oldest unfinished record ${age} s`);

  (release as (() => void) | null)?.();
  release = null;
  t.ok(await eventually(() => sink.received.length === 1, 30_000), 'released, it is sent');
  t.ok(
    await eventually(async () => (await app.inject('/healthz')).statusCode === 200, 15_000, 500),
    'healthy again once the partition moves',
  );
});

t.test('the audit exports stuck emails and the age of the oldest queued one', async (t) => {
  const { env } = await mailerFixture(t);
  const pool = ledgerPool(t);
  const id = crypto.randomUUID();
  await pool.query(
    `insert into emails (id, account, state, created_at) values ($1, 'audit-test', 'queued', now() - interval '20 minutes')`,
    [id],
  );
  t.teardown(() => pool.query('delete from emails where id = $1', [id]));
  const { app } = await startMailer(t, env);
  const read = async () => (await app.inject('/metrics')).body;
  t.ok(await eventually(async () => /postline_stuck_emails [1-9]/.test(await read()), 10_000), 'counted as stuck (queued 20 min > 15 min)');
  const oldest = Number(/postline_oldest_queued_email_seconds ([\d.e+]+)/.exec(await read())?.[1]);
  t.ok(oldest >= 1_200, `oldest queued ${oldest} s`);
});
