#!/usr/bin/env node
// `npm run bench:schedule`: scheduled sends at scale, on a private local stack (Kafka on 9192-9194).
//  1. Parks BENCH_SCHEDULED (1,000,000) emails due in 20-30 days: their records are produced as the API
//     writes them, and one mailer (production defaults) parks each in the ledger. The mailer's RSS is
//     sampled as the count grows: it must stay flat, since nothing about the schedule is in memory.
//     Parking writes each email's `email.scheduled` event: the outbox relay then publishes a million
//     events. Phase 2 starts once it has (the time it took is reported).
//  2. With those parked, a steady load of emails scheduled 5 s ahead through the API (BENCH_SCHEDULE_RATE
//     a second for BENCH_SCHEDULE_SECONDS): lateness = SMTP arrival − due time (target p99 ≤ 5 s).
// Writes bench/results/schedule-<date>-<count>.json.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createKafka, createLogger, emailTopics, ensureTopics } from '../packages/runtime/dist/index.js';
import { startStack } from '../packages/stack/dist/index.js';
import { freePort, percentile, scrape, sleep, startProcess, stopProcess } from './lib/measure.mjs';
import { now, startSink } from './lib/sink.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_SCHEDULED ?? 1_000_000);
const RATE = Number(process.env.BENCH_SCHEDULE_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SCHEDULE_SECONDS ?? 60);
const KEY = 'bench-key-0123456789abcdef0123';
const say = (line) => process.stderr.write(`[bench:schedule] ${line}\n`);
const rssMb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const dataDir = mkdtempSync(join(tmpdir(), 'postline-bench-'));
chmodSync(dataDir, 0o755);
const stack = await startStack({ dataDir, kafkaPort: 9192, postgresPort: await freePort(), inbox: false, env: {}, progress: say });
const sink = await startSink();
const base = `sched-${Date.now().toString(36)}`;
const topics = {
  EMAILS_TOPIC: `${base}.emails`,
  RETRY_TOPIC: `${base}.retry`,
  DEAD_LETTER_TOPIC: `${base}.dlq`,
  EVENTS_TOPIC: `${base}.events`,
};
const kafka = createKafka({
  brokers: stack.env.KAFKA_BROKERS.split(','),
  clientId: 'bench',
  logger: createLogger({ name: 'bench', level: 'silent' }),
});
const admin = kafka.admin();
await admin.connect();
await ensureTopics(
  admin,
  emailTopics({ ...topics, EMAILS_PARTITIONS: 12, RETRY_PARTITIONS: 6, DEAD_LETTER_PARTITIONS: 3, EVENTS_PARTITIONS: 6 }),
);
await sleep(1_000);

const common = { ...stack.env, ...topics, NODE_ENV: 'production', SENDER_DOMAINS: 'example.com', SUBMISSION_PORT: '0' };
const children = [];
async function start(entry, env, port) {
  const child = await startProcess(join(root, entry), env, `http://127.0.0.1:${port}/readyz`);
  children.push(child);
  return child;
}
const results = { date: new Date().toISOString(), settings: { scheduled: N, rate: RATE, seconds: SECONDS } };
try {
  const mailerPort = await freePort();
  const mailer = await start(
    'services/mailer/dist/server.js',
    {
      ...common,
      SMTP_URL: sink.url,
      MESSAGE_ID_DOMAIN: 'bench.example',
      METRICS_PORT: String(mailerPort),
      CONSUMER_GROUP: `${base}.group`,
    },
    mailerPort,
  );
  const apiPort = await freePort();
  await start(
    'services/api/dist/server.js',
    { ...common, PORT: String(apiPort), API_KEYS: `bench:${KEY}`, RATE_LIMIT_PER_MINUTE: '1000000000' },
    apiPort,
  );
  const parked = async () => (await scrape(`http://127.0.0.1:${mailerPort}/metrics`, 'postline_mailer_'))('emails_parked_total');

  // 1. N records of emails due in 20-30 days, as the API writes them, then parked by the mailer.
  say(`producing ${N} scheduled emails`);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const acceptedAt = new Date().toISOString();
  const record = (i) => {
    const id = randomUUID();
    const scheduledAt = new Date(Date.now() + 20 * 86_400_000 + (i % 864_000) * 1_000).toISOString();
    const email = {
      from: { name: 'Shop', address: 'orders@example.com' },
      to: [{ address: `c${i}@example.net` }],
      subject: `Reminder ${i}`,
      text: 'See you soon. '.repeat(20),
    };
    return { key: id, value: JSON.stringify({ v: 2, id, account: 'bench', acceptedAt, attempt: 0, scheduledAt, email }) };
  };
  const rss = [{ parked: 0, rssMb: rssMb(mailer.pid) }];
  const produceStarted = now();
  for (let i = 0; i < N; i += 5_000) {
    await producer.send({
      topic: topics.EMAILS_TOPIC,
      acks: -1,
      messages: Array.from({ length: Math.min(5_000, N - i) }, (_, j) => record(i + j)),
    });
    if (i % 100_000 === 0) rss.push({ parked: await parked(), rssMb: rssMb(mailer.pid) });
  }
  await producer.disconnect();
  results.produceSeconds = (now() - produceStarted) / 1000;
  say(`produced in ${results.produceSeconds.toFixed(0)} s; parking`);
  const parkStarted = now();
  for (let last = -1; ; ) {
    const p = await parked();
    if (Math.floor(p / 100_000) !== Math.floor(last / 100_000)) {
      rss.push({ parked: p, rssMb: rssMb(mailer.pid) });
      say(`parked ${p}, mailer RSS ${rss.at(-1).rssMb.toFixed(0)} MB`);
    }
    last = p;
    if (p >= N) break;
    await sleep(2_000);
  }
  results.parkRate = N / ((now() - produceStarted) / 1000);
  results.parkSeconds = (now() - parkStarted) / 1000;
  results.rss = rss;

  // The million `email.scheduled` events the parks wrote, published by the outbox relay first.
  const db = new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 1 });
  const drainStarted = now();
  for (;;) {
    // The outbox holds exactly the events not yet published (packages/ledger's event_outbox).
    const { rows } = await db.query('select count(*)::int as n from event_outbox');
    if (rows[0].n === 0) break;
    say(`outbox: ${rows[0].n} events to publish`);
    await sleep(10_000);
  }
  await db.end();
  results.outboxDrainSeconds = (now() - drainStarted) / 1000;

  // 2. Steady load of emails due 5 s after their request, with the N parked ones waiting.
  say(`steady: ${RATE}/s scheduled 5 s ahead for ${SECONDS} s`);
  const due = new Map();
  const batch = Math.max(1, Math.min(100, Math.round(RATE / 10)));
  const steadyStarted = Date.now();
  const posts = [];
  for (let sent = 0; sent < RATE * SECONDS; sent += batch) {
    const at = steadyStarted + (sent / RATE) * 1000;
    await sleep(Math.max(0, at - Date.now()));
    const dueAt = Date.now() + 5_000;
    const emails = Array.from({ length: batch }, (_, j) => ({
      from: 'Shop <orders@example.com>',
      to: `s${sent + j}@example.net`,
      subject: 'Your appointment',
      text: 'See you soon. '.repeat(20),
      scheduledAt: new Date(dueAt).toISOString(),
    }));
    posts.push(
      fetch(`http://127.0.0.1:${apiPort}/v1/emails/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ emails }),
      })
        .then((r) => r.json())
        .then((body) => {
          for (const a of body.data ?? []) due.set(`<${a.id}@bench.example>`, Date.parse(a.scheduledAt));
        }),
    );
    if (sent % (RATE * 10) === 0)
      rss.push({ parked: N, steadySecond: Math.round((Date.now() - steadyStarted) / 1000), rssMb: rssMb(mailer.pid) });
  }
  await Promise.all(posts);
  const deadline = Date.now() + 120_000;
  while ([...due.keys()].some((id) => !sink.arrivals.has(id)) && Date.now() < deadline) await sleep(500);
  // Wall-clock times on both sides: the due time is the API's and the mailer's, by Date.now().
  const arrived = sink.wallArrivals;
  const lateness = [...due].filter(([id]) => arrived.has(id)).map(([id, d]) => arrived.get(id) - d);
  results.lateness = {
    accepted: due.size,
    arrived: lateness.length,
    early: lateness.filter((l) => l < 0).length,
    p50Ms: percentile(lateness, 50),
    p95Ms: percentile(lateness, 95),
    p99Ms: percentile(lateness, 99),
    maxMs: Math.max(...lateness),
    targetP99Ms: 5_000,
  };
  rss.push({ parked: N, after: true, rssMb: rssMb(mailer.pid) });
  // Where the lateness comes from: the release (due → back on the topic) or the send after it.
  const metrics = await (await fetch(`http://127.0.0.1:${mailerPort}/metrics`)).text();
  results.releaseLateness = Object.fromEntries(
    [...metrics.matchAll(/^postline_mailer_schedule_release_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]),
  );
  // Per email, from the ledger: due → released (its email.queued event) → sent (the SMTP 250) → received.
  const ids = [...due.keys()].map((m) => m.slice(1, m.indexOf('@')));
  const ledger = new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 1 });
  const { rows: steps } = await ledger.query(
    `select e.id, e.scheduled_at, q.created_at as released_at, e.sent_at
       from emails e join email_events q on q.email_id = e.id and q.type = 'email.queued'
      where e.id = any($1)`,
    [ids],
  );
  await ledger.end();
  const stepMs = (pick) => {
    const values = steps.map(pick).filter((v) => Number.isFinite(v));
    return { p50Ms: percentile(values, 50), p99Ms: percentile(values, 99) };
  };
  results.steps = {
    dueToReleased: stepMs((r) => r.released_at - r.scheduled_at),
    releasedToSent: stepMs((r) => r.sent_at - r.released_at),
    sentToReceived: stepMs((r) => arrived.get(`<${r.id}@bench.example>`) - r.sent_at),
  };
  // The ledger's own account of "never early", by Postgres' clock alone: released before its due time.
  results.steps.releasedEarly = steps.filter((r) => r.released_at < r.scheduled_at).length;
  say(`steps: ${JSON.stringify(results.steps)}`);
  say(`release lateness buckets (s → count): ${JSON.stringify(results.releaseLateness)}`);
  say(`lateness: ${JSON.stringify(results.lateness)}`);
  say(`mailer RSS (MB) as the parked count grew: ${rss.map((r) => r.rssMb.toFixed(0)).join(' ')}`);
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, `bench/results/schedule-${results.date.slice(0, 10)}-${N}-${RATE}rps.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  say(`wrote ${file}`);
} finally {
  for (const c of children) await stopProcess(c).catch(() => {});
  await admin.disconnect().catch(() => {});
  await Promise.race([sink.close(), sleep(2_000)]);
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
