import Fastify from 'fastify';
import type { Producer } from 'kafkajs';
import t, { type Test } from 'tap';
import { sleep, stackEnv, uniqueName } from '../../../test/helpers/env.js';
import { testKafka, uncommittedRecords } from '../../../test/helpers/kafka.js';
import { eventually } from '../../../test/helpers/mailer.js';
import { app as webhooksApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

// The dispatcher's offset commits (offset-commits.ts in @postline/runtime), on its real consumer
// group. Records that are not events are skipped and resolved like events: no endpoint is needed.

async function start(t: Test, overrides: Record<string, string> = {}) {
  const { brokers, databaseUrl } = stackEnv();
  const name = uniqueName('dispatch');
  const config = loadConfig({
    NODE_ENV: 'test',
    KAFKA_BROKERS: brokers.join(','),
    DATABASE_URL: databaseUrl,
    EVENTS_TOPIC: `${name}.events`,
    EVENTS_PARTITIONS: '1',
    WEBHOOK_CONSUMER_GROUP: `${name}.group`,
    METRICS_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
  const app = Fastify();
  await app.register(webhooksApp, { config });
  await app.ready();
  await app.startup.settled();
  let closed = false;
  t.teardown(() => (closed ? undefined : app.close()));
  const producer = testKafka().producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  return {
    app,
    config,
    producer,
    close: async () => {
      closed = true;
      await app.close();
    },
    commits: async () => Number(/postline_webhooks_offset_commits_total (\d+)/.exec(await app.webhookMetrics.registry.metrics())?.[1] ?? 0),
    uncommitted: () => uncommittedRecords(config.EVENTS_TOPIC, config.WEBHOOK_CONSUMER_GROUP),
  };
}

/** One record at a time, `gapMs` apart: one record a fetched batch (the consumer's fetch waits at most 100 ms). */
async function trickle(producer: Producer, topic: string, n: number, gapMs: number) {
  for (let i = 0; i < n; i++) {
    await producer.send({ topic, acks: -1, messages: [{ value: `not an event ${i}` }] });
    await sleep(gapMs);
  }
}

t.test('records one at a time → offsets committed at most about once a second, and to the end after the lull', async (t) => {
  const d = await start(t);
  const before = await d.commits();
  const started = Date.now();
  await trickle(d.producer, d.config.EVENTS_TOPIC, 20, 150);
  t.ok(await eventually(async () => (await d.uncommitted()) === 0, 5_000), 'all committed within the next intervals');
  const seconds = (Date.now() - started) / 1000;
  const commits = (await d.commits()) - before;
  t.ok(commits <= Math.ceil(seconds) + 2, `${commits} commits for 20 records over ${seconds.toFixed(1)} s`);
});

t.test('COMMIT_INTERVAL_MS=0 → a commit after every batch', async (t) => {
  const d = await start(t, { COMMIT_INTERVAL_MS: '0' });
  const before = await d.commits();
  await trickle(d.producer, d.config.EVENTS_TOPIC, 20, 150);
  t.ok(await eventually(async () => (await d.uncommitted()) === 0, 5_000));
  t.ok((await d.commits()) - before >= 10, 'about one commit per record');
  t.match(await d.app.webhookMetrics.registry.metrics(), /^postline_webhooks_log_lines_dropped_total 0$/m, 'process metrics');
});

t.test('closed with an interval too long to have committed: everything read is committed before it leaves', async (t) => {
  const d = await start(t, { COMMIT_INTERVAL_MS: '600000' });
  await trickle(d.producer, d.config.EVENTS_TOPIC, 3, 0);
  // Read and queued within milliseconds; nothing committed them.
  await sleep(2_000);
  t.ok((await d.uncommitted()) > 0, 'not committed while running');
  await d.close();
  t.equal(await d.uncommitted(), 0, 'all committed at close');
});
