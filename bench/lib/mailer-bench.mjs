// G4, G5 and the mailer's scaling: the mailer against nodemailer's own pooled transport.
import { warmUntilJitQuiet } from './jit-warmup.mjs';
import { gcNow, percentile, sleep, statCpuMs, stopProcess, summary } from './measure.mjs';
import { openLoop } from './open-loop.mjs';
import { rawNodemailer } from './raw-nodemailer.mjs';
import { now } from './sink.mjs';

const MAILER_SCALING = [
  [1, 5],
  [4, 2],
  [4, 5],
  [4, 10],
  [8, 10],
];

/** ctx: { say, settings, sink, kafka, email, key, mailerTopics, topicsFor, startMailer, startApi } */
export async function mailerBench(ctx, results) {
  const { say, settings, sink, mailerTopics } = ctx;
  const { ROUNDS, EMAILS } = settings;
  const mailer = await ctx.startMailer(mailerTopics);
  // Unmeasured warm-up of both sides.
  await mailerRound(ctx, Math.min(500, EMAILS), mailerTopics.EMAILS_TOPIC);
  await rawNodemailer(sink, Math.min(500, EMAILS), 5);
  const g4 = { mailer: [], raw: [] };
  for (let r = 0; r < ROUNDS; r++) {
    g4.mailer.push(await mailerRound(ctx, EMAILS, mailerTopics.EMAILS_TOPIC));
    g4.raw.push(await rawNodemailer(sink, EMAILS, 5));
    say(`round ${r + 1}/${ROUNDS}: mailer ${g4.mailer.at(-1).toFixed(0)}/s, raw nodemailer ${g4.raw.at(-1).toFixed(0)}/s`);
  }
  results.G4 = {
    mailer: summary(g4.mailer),
    rawNodemailer: summary(g4.raw),
    ratio: summary(g4.mailer).median / summary(g4.raw).median,
    target: 0.8,
    poolSize: 5,
  };

  // G5: end-to-end latency (202 → fully received by the sink) at half the mailer maximum.
  const rate = Number(process.env.BENCH_G5_RATE ?? Math.max(1, Math.round(results.G4.mailer.median * 0.5)));
  const at = async (r) => {
    const api = await ctx.startApi(mailerTopics);
    const l = await endToEnd(ctx, api.url, r, settings.SECONDS * 2);
    await stopProcess(api.child);
    if (l.length === 0) throw new Error(`G5 at ${r}/s: no email made it through`);
    say(`G5 at ${r}/s: p50 ${percentile(l, 50).toFixed(1)} ms, p99 ${percentile(l, 99).toFixed(1)} ms`);
    return { rate: r, p50: percentile(l, 50), p99: percentile(l, 99), samples: l.length };
  };
  results.G5 = { ...(await at(rate)), targetP99: 50, sweep: [] };
  // Where the p99 target holds: the same measurement at lower rates (API and mailer both running).
  for (const r of [20, 50, 100, 150].filter((x) => x < rate)) results.G5.sweep.push(await at(r));
  return mailer;
}

export async function mailerScaling(ctx, results) {
  results.scaling.mailer = [];
  for (const [sends, pool] of MAILER_SCALING) {
    // Topics and a group of its own: no earlier records to drain first.
    const own = ctx.topicsFor(`s${sends}-${pool}`);
    await ctx.topicSets.create(own);
    const m = await ctx.startMailer({
      ...own,
      SENDS_PER_PARTITION: String(sends),
      SMTP_POOL_SIZE: String(pool),
      CONSUMER_GROUP: `${own.EMAILS_TOPIC}.group`,
    });
    const rps = await mailerRound(ctx, ctx.settings.EMAILS, own.EMAILS_TOPIC);
    results.scaling.mailer.push({ sendsPerPartition: sends, poolSize: pool, rps });
    ctx.say(`mailer sends/partition ${sends}, pool ${pool}: ${rps.toFixed(0)}/s`);
    await stopProcess(m.child);
    await ctx.topicSets.drop(own);
  }
}

/**
 * `BENCH_ONLY=mailer-ab BENCH_MAILER_AB='[{}, {"PARTITION_CONCURRENCY":"18"}]'`: G4's bulk rate
 * (BENCH_EMAILS produced at once) and G5 at one rate (BENCH_G5_RATE, 100 by default) under each
 * mailer env variant, interleaved round by round (BENCH_ROUNDS), each on a mailer and an API of its
 * own, G5 after 5 s of unmeasured load. For measuring a mailer setting before it goes into the
 * defaults; prints, writes nothing.
 */
export async function mailerAb(ctx, variants) {
  const { say, settings, mailerTopics } = ctx;
  const rate = Number(process.env.BENCH_G5_RATE ?? 100);
  const runs = variants.map((variant) => ({ variant, bulk: [], cpu: [], p50: [], p99: [] }));
  // A mailer under `variant` and an API of their own for `work(apiUrl, mailer)`, stopped after it.
  const pipeline = async (variant, work) => {
    const mailer = await ctx.startMailer({ ...mailerTopics, ...variant });
    const api = await ctx.startApi(mailerTopics);
    const result = await work(api.url, mailer);
    await stopProcess(api.child);
    await stopProcess(mailer.child);
    return result;
  };
  const once = (variant) =>
    pipeline(variant, async (url, mailer) => {
      // The mailer's CPU an email over the bulk round, which moves less with the host than its rate.
      const stat = `/proc/${mailer.child.pid}/stat`;
      const gc0 = await gcNow(`${mailer.url}/metrics`, 'postline_mailer_');
      const cpu0 = statCpuMs(stat);
      const bulk = await mailerRound(ctx, settings.EMAILS, mailerTopics.EMAILS_TOPIC);
      const cpu = (1000 * (statCpuMs(stat) - cpu0)) / settings.EMAILS;
      const markCompacts = (await gcNow(`${mailer.url}/metrics`, 'postline_mailer_')).markCompacts - gc0.markCompacts;
      await endToEnd(ctx, url, rate, 5);
      return { bulk, cpu, markCompacts, latencies: await endToEnd(ctx, url, rate, settings.SECONDS * 2) };
    });
  // Unmeasured, until the brokers' compilers are quiet again: their warm-up only produced, and the
  // consumer-group paths compile under this load. Measured on 2026-12-02: the brokers took 73–79 %
  // of a core in the first round after one unmeasured round, and 30–37 % from the third on.
  const pids = ctx.stack.kafka.nodes.map((n) => n.pid);
  await pipeline(variants[0] ?? {}, (url) => warmUntilJitQuiet({ pids, load: () => endToEnd(ctx, url, rate, 10), say }));
  for (let r = 0; r < settings.ROUNDS; r++) {
    for (const run of runs) {
      const { bulk, cpu, markCompacts, latencies: l } = await once(run.variant);
      run.bulk.push(bulk);
      run.cpu.push(cpu);
      run.p50.push(percentile(l, 50));
      run.p99.push(percentile(l, 99));
      say(
        `round ${r + 1}, ${JSON.stringify(run.variant)}: bulk ${bulk.toFixed(0)}/s, ${cpu.toFixed(0)} us of the mailer's CPU an email, ${markCompacts} mark-compacts; at ${rate}/s p50 ${run.p50.at(-1).toFixed(1)} ms, p99 ${run.p99.at(-1).toFixed(1)} ms`,
      );
    }
  }
  for (const run of runs) {
    say(
      `${JSON.stringify(run.variant)}: bulk median ${summary(run.bulk).median.toFixed(0)}/s (${run.bulk.map((x) => x.toFixed(0)).join(', ')}), ${summary(run.cpu).median.toFixed(0)} us an email (${run.cpu.map((x) => x.toFixed(0)).join(', ')}); p50 median ${summary(run.p50).median.toFixed(1)} ms, p99 median ${summary(run.p99).median.toFixed(1)} ms (${run.p99.map((x) => x.toFixed(0)).join(', ')})`,
    );
  }
  return runs;
}

/** Produces `n` envelopes straight to a running mailer's topic; emails/s from first to last arrival. */
async function mailerRound(ctx, n, topic) {
  const { sink, kafka, email } = ctx;
  await sink.reset();
  const producer = kafka.producer({ idempotent: true, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } });
  await producer.connect();
  const now = new Date().toISOString();
  const messages = Array.from({ length: n }, () => {
    const id = crypto.randomUUID();
    return { key: id, value: JSON.stringify({ v: 1, id, account: 'bench', acceptedAt: now, attempt: 0, email }) };
  });
  for (let i = 0; i < n; i += 1000) await sendRetrying(producer, topic, messages.slice(i, i + 1000));
  await producer.disconnect();
  const deadline = Date.now() + 300_000;
  while (sink.count < n && Date.now() < deadline) await sleep(50);
  if (sink.count < n) throw new Error(`mailer round: ${sink.count} of ${n} emails arrived`);
  const times = [...sink.arrivals.values()].sort((a, b) => a - b);
  return ((times.length - 1) * 1000) / (times.at(-1) - times[0]);
}

/** A fresh topic can be "not hosted" by a broker for a moment; kafkajs gives up on that. */
async function sendRetrying(producer, topic, messages) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await producer.send({ topic, acks: -1, messages });
    } catch (error) {
      if (attempt >= 10) throw error;
      await sleep(1_000);
    }
  }
}

/**
 * POSTs at a fixed rate; each sample is 202 → arrival at the sink of that Message-ID. The POSTs go
 * through the open loop (undici's `Pool`, as G3's do): with a `fetch` per POST the generator took
 * 16–17 % of a core at 100/s on a 2-core host, against 9–12 %, and that CPU came out of what the
 * API, the mailer and the brokers share (docs/benchmarks.md, G5).
 */
async function endToEnd(ctx, url, rate, seconds) {
  const { sink } = ctx;
  await sink.reset();
  const accepted = new Map();
  await openLoop({
    ...ctx.post(url),
    connections: 64,
    duration: seconds,
    rate,
    onResponse: async (response) => {
      const answered = now();
      const text = await response.body.text();
      if (response.statusCode === 202) accepted.set(`<${JSON.parse(text).id}@bench.example>`, answered);
    },
  });
  const deadline = Date.now() + 60_000;
  while ([...accepted.keys()].some((k) => !sink.arrivals.has(k)) && Date.now() < deadline) await sleep(50);
  return [...accepted].filter(([k]) => sink.arrivals.has(k)).map(([k, t]) => sink.arrivals.get(k) - t);
}
