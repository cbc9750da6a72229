import { Partitioners } from 'kafkajs';
import t from 'tap';
import { sleep } from '../../../test/helpers/env.js';
import { testKafka, uncommittedRecords } from '../../../test/helpers/kafka.js';
import { envelope, eventually, MESSAGE_ID_DOMAIN, mailerFixture, startMailer } from '../../../test/helpers/mailer.js';
import type { SmtpSink } from '../../../test/helpers/smtp-sink.js';

/** Produces `n` emails one at a time, `gapMs` apart, each waiting for the sink to have it: one email a fetched batch. */
async function trickle(t: Parameters<typeof startMailer>[0], topic: string, sink: SmtpSink, n: number, gapMs: number) {
  const producer = testKafka().producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (let i = 0; i < n; i++) {
    const e = envelope();
    await producer.send({ topic, acks: -1, messages: [{ key: e.id, value: JSON.stringify(e) }] });
    const id = `<${e.id}@${MESSAGE_ID_DOMAIN}>`;
    if (!(await eventually(() => sink.counts().has(id), 30_000, 20))) throw new Error(`email ${i} did not arrive`);
    await sleep(gapMs);
  }
}

const commitsOf = async (app: Awaited<ReturnType<typeof startMailer>>['app']) =>
  Number(/postline_mailer_offset_commits_total (\d+)/.exec(await app.mailerMetrics.registry.metrics())?.[1] ?? 0);

// COMMIT_INTERVAL_MS is left at its default (1 s) in the first two tests; 0 is the old behaviour, for contrast.
t.test('emails one at a time → offsets committed at most about once a second, and to the end after the lull', async (t) => {
  const { sink, env } = await mailerFixture(t);
  const { app } = await startMailer(t, env);
  const before = await commitsOf(app);
  const started = Date.now();
  await trickle(t, env.EMAILS_TOPIC!, sink, 25, 50);
  const seconds = (Date.now() - started) / 1000;
  const commits = (await commitsOf(app)) - before;
  t.ok(commits <= Math.ceil(seconds) + 2, `${commits} commits for 25 batches over ${seconds.toFixed(1)} s`);
  t.ok(
    await eventually(async () => (await uncommittedRecords(env.EMAILS_TOPIC!, env.CONSUMER_GROUP!)) === 0, 5_000),
    'all committed within the next intervals',
  );
});

t.test('COMMIT_INTERVAL_MS=0 → a commit after every batch', async (t) => {
  const { sink, env } = await mailerFixture(t, { COMMIT_INTERVAL_MS: '0' });
  const { app } = await startMailer(t, env);
  const before = await commitsOf(app);
  await trickle(t, env.EMAILS_TOPIC!, sink, 25, 50);
  t.ok((await commitsOf(app)) - before >= 20, 'about one commit per email');
});

t.test('a mailer closed right after a batch commits it before leaving: the next member re-reads nothing', async (t) => {
  const { sink, env } = await mailerFixture(t);
  const { app } = await startMailer(t, env);
  // Two emails 200 ms apart: the second batch ends well inside the first's commit interval.
  await trickle(t, env.EMAILS_TOPIC!, sink, 2, 0);
  await sleep(200);
  await trickle(t, env.EMAILS_TOPIC!, sink, 1, 0);
  await app.close();
  t.equal(await uncommittedRecords(env.EMAILS_TOPIC!, env.CONSUMER_GROUP!), 0, 'every offset committed at close');
});

t.test('a rebalance commits what the old owner finished (with an interval too long to do it)', async (t) => {
  const { sink, env } = await mailerFixture(t, { COMMIT_INTERVAL_MS: '600000' });
  await startMailer(t, env);
  await trickle(t, env.EMAILS_TOPIC!, sink, 3, 0);
  t.ok((await uncommittedRecords(env.EMAILS_TOPIC!, env.CONSUMER_GROUP!)) > 0, 'nothing committed yet');
  // A second member joins: the first is told to rebalance on its next heartbeat.
  await startMailer(t, env);
  t.ok(
    await eventually(async () => (await uncommittedRecords(env.EMAILS_TOPIC!, env.CONSUMER_GROUP!)) === 0, 30_000),
    'committed at the rebalance',
  );
  t.equal(sink.received.length, 3, 'each sent once');
});
