#!/usr/bin/env node
// `npm run bench`: measures the API and the mailer against the ceilings of their own parts on a
// private local stack (Kafka on 39092-39094), each comparison interleaved A B A B … over ROUNDS
// rounds, and writes bench/results/<date>.json, docs/benchmarks.md and SVG charts.
// BENCH_ROUNDS, BENCH_SECONDS and BENCH_EMAILS make it longer or shorter.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka, createLogger, emailTopics, ensureTopics } from '../packages/runtime/dist/index.js';
import { startStack } from '../packages/stack/dist/index.js';
import { ensureKafkaTools, producerPerformance } from './lib/kafka-perf.mjs';
import { freePort, load, peakRssMb, percentile, sleep, startProcess, stopProcess, summary } from './lib/measure.mjs';
import { rawNodemailer } from './lib/raw-nodemailer.mjs';
import { writeReport } from './lib/report.mjs';
import { startSink } from './lib/sink.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const EMAILS = Number(process.env.BENCH_EMAILS ?? 4000);
const CONNECTIONS = 64;
const KEY = 'bench-key-0123456789abcdef0123';
const say = (line) => process.stderr.write(`[bench] ${line}\n`);

// ~1.5 KB, like a typical transactional email.
const EMAIL = {
  from: 'Shop <orders@example.com>',
  to: 'customer@example.net',
  subject: 'Your order #12345 has shipped',
  text: 'Hello! '.repeat(150),
  html: `<p>${'Hello! '.repeat(40)}</p>`,
  tags: { kind: 'shipping' },
};
const BODY = JSON.stringify(EMAIL);

const dataDir = mkdtempSync(join(tmpdir(), 'postline-bench-'));
chmodSync(dataDir, 0o755);
const stack = await startStack({ dataDir, kafkaPort: 39092, postgresPort: await freePort(), inbox: false, env: {}, progress: say });
const sink = await startSink();
const base = `bench-${Date.now().toString(36)}`;
const topics = { EMAILS_TOPIC: `${base}.emails`, RETRY_TOPIC: `${base}.retry`, DEAD_LETTER_TOPIC: `${base}.dlq` };
// The mailer and G5 use topics of their own: G1/G3 leave ~100k API records on `topics`, which a
// mailer would first have to drain.
const topicsFor = (name) => ({
  EMAILS_TOPIC: `${base}.${name}.emails`,
  RETRY_TOPIC: `${base}.${name}.retry`,
  DEAD_LETTER_TOPIC: `${base}.${name}.dlq`,
});
const mailerTopics = topicsFor('m');
const common = { ...stack.env, ...topics, NODE_ENV: 'production', LOG_LEVEL: 'warn' };
const kafka = createKafka({
  brokers: stack.env.KAFKA_BROKERS.split(','),
  clientId: 'bench',
  logger: createLogger({ name: 'bench', level: 'silent' }),
});
const admin = kafka.admin();
await admin.connect();
const perfTopic = `${base}.perf`;
await ensureTopics(admin, [
  ...emailTopics({ ...topics, EMAILS_PARTITIONS: 12, RETRY_PARTITIONS: 6, DEAD_LETTER_PARTITIONS: 3 }),
  { name: perfTopic, partitions: 12 },
]);
await ensureKafkaTools(join(root, 'bench'));

const results = {
  date: new Date().toISOString(),
  machine: machine(),
  settings: { ROUNDS, SECONDS, EMAILS, CONNECTIONS, bodyBytes: BODY.length },
};
const children = [];
const apiUrl = (port) => `http://127.0.0.1:${port}`;

async function startApi(extra = {}) {
  const port = await freePort();
  const child = await startProcess(
    join(root, 'services/api/dist/server.js'),
    {
      ...common,
      PORT: String(port),
      API_KEYS: `bench:${KEY}`,
      SENDER_DOMAINS: 'example.com',
      RATE_LIMIT_PER_MINUTE: '1000000000',
      ...extra,
    },
    `${apiUrl(port)}/readyz`,
  );
  children.push(child);
  return { child, url: apiUrl(port) };
}

async function startMailer(extra = {}) {
  const port = await freePort();
  const env = {
    ...common,
    SMTP_URL: sink.url,
    MESSAGE_ID_DOMAIN: 'bench.example',
    METRICS_PORT: String(port),
    CONSUMER_GROUP: `${base}.group`,
    ...extra,
  };
  const child = await startProcess(join(root, 'services/mailer/dist/server.js'), env, `${apiUrl(port)}/readyz`);
  children.push(child);
  return child;
}

const post = (url) => ({
  url: `${url}/v1/emails`,
  method: 'POST',
  headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
  body: BODY,
});

try {
  // G1 and G2: API accepted/s vs bare fastify and vs ProducerPerformance, interleaved.
  const helloPort = await freePort();
  const hello = await startProcess(join(root, 'bench/lib/hello.mjs'), { PORT: String(helloPort) }, apiUrl(helloPort));
  children.push(hello);
  const api = await startApi();
  const envelopeBytes = BODY.length + 220;
  const g1 = { api: [], hello: [], perf: [] };
  for (let r = 0; r < ROUNDS; r++) {
    g1.hello.push((await load({ url: apiUrl(helloPort), connections: CONNECTIONS, duration: SECONDS })).rps);
    const a = await load({ ...post(api.url), connections: CONNECTIONS, duration: SECONDS });
    if (a.errors) say(`api round ${r}: ${a.errors} errors`);
    g1.api.push(a.rps);
    g1.perf.push(
      (await producerPerformance({ brokers: stack.env.KAFKA_BROKERS, topic: perfTopic, records: 40_000, size: envelopeBytes })).rps,
    );
    say(
      `round ${r + 1}/${ROUNDS}: hello ${g1.hello.at(-1).toFixed(0)}/s, api ${g1.api.at(-1).toFixed(0)}/s, ProducerPerformance ${g1.perf.at(-1).toFixed(0)}/s`,
    );
  }
  results.G1 = { api: summary(g1.api), hello: summary(g1.hello), ratio: results_ratio(g1.api, g1.hello), target: 0.3 };
  results.G2 = {
    api: summary(g1.api),
    producerPerformance: summary(g1.perf),
    ratio: results_ratio(g1.api, g1.perf),
    target: 0.3,
    recordBytes: envelopeBytes,
  };

  // G3: latency at half the API maximum, against ProducerPerformance at the same rate.
  const rate = Math.max(1, Math.round(results.G1.api.median * 0.5));
  const g3 = await load({ ...post(api.url), connections: CONNECTIONS, duration: SECONDS * 2, rate });
  const perfAtRate = await producerPerformance({
    brokers: stack.env.KAFKA_BROKERS,
    topic: perfTopic,
    records: rate * SECONDS * 2,
    size: envelopeBytes,
    throughput: rate,
  });
  results.G3 = {
    rate,
    p50: g3.p50,
    p99: g3.p99,
    p999: g3.p999,
    errors: g3.errors,
    producerPerformanceP99: perfAtRate.p99,
    targetP99: 2 * perfAtRate.p99 + 5,
  };
  say(
    `G3 at ${rate}/s: p50 ${g3.p50} ms, p99 ${g3.p99} ms, p999 ${g3.p999} ms, errors ${g3.errors} (ProducerPerformance p99 ${perfAtRate.p99} ms)`,
  );

  // G4: mailer emails/s vs raw pooled nodemailer to the same sink with the same connections.
  const mailer = await startMailer();
  const g4 = { mailer: [], raw: [] };
  for (let r = 0; r < ROUNDS; r++) {
    g4.mailer.push(await mailerRound(EMAILS, mailerTopics.EMAILS_TOPIC));
    g4.raw.push(await rawNodemailer(sink, EMAILS, 5));
    say(`round ${r + 1}/${ROUNDS}: mailer ${g4.mailer.at(-1).toFixed(0)}/s, raw nodemailer ${g4.raw.at(-1).toFixed(0)}/s`);
  }
  results.G4 = {
    mailer: summary(g4.mailer),
    rawNodemailer: summary(g4.raw),
    ratio: results_ratio(g4.mailer, g4.raw),
    target: 0.8,
    poolSize: 5,
  };

  // G5: end-to-end latency (202 → fully received by the sink) at half the mailer maximum.
  const e2eRate = Math.max(1, Math.round(results.G4.mailer.median * 0.5));
  const api2 = await startApi(mailerTopics);
  const latencies = await endToEnd(api2.url, e2eRate, SECONDS * 2);
  await stopProcess(api2.child);
  if (latencies.length === 0) throw new Error('G5: no email made it through');
  results.G5 = { rate: e2eRate, p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples: latencies.length, targetP99: 50 };
  say(`G5 at ${e2eRate}/s: p50 ${results.G5.p50.toFixed(1)} ms, p99 ${results.G5.p99.toFixed(1)} ms`);

  results.rss = { apiMb: peakRssMb(api.child.pid), mailerMb: peakRssMb(mailer.pid), targets: { apiMb: 150, mailerMb: 200 } };
  await stopProcess(api.child);
  await stopProcess(mailer);

  // How the figures scale with the knobs.
  results.scaling = { api: [], mailer: [] };
  for (const [linger, batch] of [
    [0, 500],
    [2, 50],
    [2, 500],
    [5, 500],
  ]) {
    const a = await startApi({ PRODUCE_LINGER_MS: String(linger), PRODUCE_MAX_BATCH: String(batch) });
    const rps = (await load({ ...post(a.url), connections: CONNECTIONS, duration: SECONDS })).rps;
    results.scaling.api.push({ lingerMs: linger, maxBatch: batch, rps });
    say(`api linger ${linger} ms, batch ${batch}: ${rps.toFixed(0)}/s`);
    await stopProcess(a.child);
  }
  for (const [sends, pool] of [
    [1, 5],
    [4, 2],
    [4, 5],
    [4, 10],
    [8, 10],
  ]) {
    // Fresh topics each: a new group would otherwise first drain the earlier rounds' records.
    const own = topicsFor(`s${sends}-${pool}`);
    const m = await startMailer({
      ...own,
      SENDS_PER_PARTITION: String(sends),
      SMTP_POOL_SIZE: String(pool),
      CONSUMER_GROUP: `${base}.group.${sends}.${pool}`,
    });
    const rps = await mailerRound(EMAILS, own.EMAILS_TOPIC);
    results.scaling.mailer.push({ sendsPerPartition: sends, poolSize: pool, rps });
    say(`mailer sends/partition ${sends}, pool ${pool}: ${rps.toFixed(0)}/s`);
    await stopProcess(m);
  }
} finally {
  for (const c of children) await stopProcess(c).catch(() => {});
  await admin.disconnect();
  await sink.close();
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const stamp = results.date.slice(0, 10);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, `bench/results/${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
writeReport(root, results, stamp);
say(`wrote bench/results/${stamp}.json and docs/benchmarks.md`);

function results_ratio(a, b) {
  return summary(a).median / summary(b).median;
}

/** Produces `n` envelopes straight to a (running) mailer's topic; emails/s from first to last arrival. */
async function mailerRound(n, topic) {
  sink.reset();
  // The mailer just created its topic: wait until every broker serves it before producing.
  for (let i = 0; i < 100; i++) {
    const ok = await admin.fetchTopicMetadata({ topics: [topic] }).then(
      (m) => m.topics[0].partitions.length > 0 && m.topics[0].partitions.every((p) => p.leader >= 0),
      () => false,
    );
    if (ok) break;
    await sleep(200);
  }
  await sleep(500);
  const producer = kafka.producer({ idempotent: true, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } });
  await producer.connect();
  const now = new Date().toISOString();
  const messages = Array.from({ length: n }, () => {
    const id = crypto.randomUUID();
    return { key: id, value: JSON.stringify({ v: 1, id, account: 'bench', acceptedAt: now, attempt: 0, email: EMAIL }) };
  });
  for (let i = 0; i < n; i += 1000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
  await producer.disconnect();
  const deadline = Date.now() + 300_000;
  while (sink.count < n && Date.now() < deadline) await sleep(50);
  const times = [...sink.arrivals.values()].sort((a, b) => a - b);
  return ((times.length - 1) * 1000) / (times.at(-1) - times[0]);
}

/** POSTs at a fixed rate; each sample is 202 → arrival at the sink of that Message-ID. */
async function endToEnd(url, rate, seconds) {
  sink.reset();
  const accepted = new Map();
  const inflight = [];
  const started = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(
      fetch(`${url}/v1/emails`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: BODY,
      })
        .then(async (r) => {
          const answered = performance.now();
          if (r.status === 202) accepted.set(`<${(await r.json()).id}@bench.example>`, answered);
        })
        .catch(() => {}),
    );
  }
  await Promise.all(inflight);
  const deadline = Date.now() + 60_000;
  while ([...accepted.keys()].some((k) => !sink.arrivals.has(k)) && Date.now() < deadline) await sleep(50);
  return [...accepted].filter(([k]) => sink.arrivals.has(k)).map(([k, t]) => sink.arrivals.get(k) - t);
}

function machine() {
  // `java -version` writes to stderr.
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr ?? '';
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    java: java.split('\n')[0],
    kafka: '3.9.1 (3 KRaft nodes, one host)',
  };
}
