// The report's "what bounds it" section: what profiling showed, what was fixed, what is left.
const f = (n, d = 0) => Number(n).toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });

export function findings(r) {
  const ceiling = r.G2.producerPerformance.median / r.G1.hello.median;
  const held = (r.G5.sweep ?? []).filter((e) => e.p99 <= 50).map((e) => e.rate);
  return `## What bounds each figure

Everything runs on ${r.machine.cpus} cores: during the API rounds the three brokers alone use more than one of
them. Profiles were taken with \`BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=…"\` (the services' CPU profiles under
load) and \`BENCH_ONLY=api|mailer|scaling\` (one part of the run).

**G1 (API ÷ fastify hello-world).** Missed, and not reachable on this machine by any API that waits for acks=all:
Kafka's own producer, with nothing in front of it, reaches ${f(r.G2.producerPerformance.median)}/s here, which is
${f(ceiling, 2)} of hello-world's ${f(r.G1.hello.median)}/s — a zero-cost API would still score ${f(ceiling, 2)}. Each
client waits for a replicated write, so with closed-loop clients the API's throughput is about *clients ÷ latency*
(see the scaling table: ${r.scaling.api
    .filter((a) => a.lingerMs === 2 && a.maxBatch === 500 && a.producers === 1)
    .map((a) => `${a.connections} clients ${f(a.rps)}/s`)
    .join(', ')}); hello-world's answer takes microseconds. G2 is the ratio that says how much the API costs.

**G2 (API ÷ ProducerPerformance).** Interleaving matters here: right after a ProducerPerformance round has written
${f((40000 * r.G2.recordBytes * 3) / 1e6)} MB across the replicas, the brokers are still busy with it, and the API's
rounds score lower than the same API alone (the scaling table's row with the same settings:
${f(r.scaling.api.find((a) => a.lingerMs === 2 && a.maxBatch === 500 && a.producers === 1 && a.connections === r.settings.CONNECTIONS)?.rps ?? 0)}/s);
ProducerPerformance itself varies as much (${f(r.G2.producerPerformance.min)}–${f(r.G2.producerPerformance.max)}/s).
Profiling found three things, all fixed:
1. *One Kafka request per partition.* The fix for kafkajs' failover bug (README, "kafkajs and leader failover") had
   split every batch into one send per partition; an idempotent kafkajs producer holds a per-broker lock per
   request, so a batch cost four round trips in a row on each broker (produce time 124 ms per batch at 64 clients,
   246 emails/s). Now a batch is one send — one request per broker, in parallel — and the failover bug is caught by
   checking that every partition is in kafkajs' result and re-sending the missing ones
   (\`services/api/src/send-covered.ts\`): 246 → 1,600 emails/s at 64 clients in the same setup (with 2.).
2. *One Postgres insert per request* (the \`queued\` status row) was the API's largest CPU cost: 3.3 s of 13 s
   profiled, mostly loopback socket writes. Concurrent requests now share one insert (0.95 s).
3. *Idle partitions.* The bench first created all of its ~200 partitions up front; the brokers' replica fetchers
   spent CPU on them in every phase. Topics now live only as long as their phase.

Tried and measured worse, so not kept: one batcher per partition (12 small pipelines) and 4–12 producers with
single-partition sends — more, smaller requests, and the brokers' CPU is the bound (\`PRODUCERS\` > 1 in the scaling
table shows the same).

**G4 (mailer ÷ raw nodemailer).** Raw nodemailer does one SMTP transaction per email. The mailer also makes two
durable writes per email — the claim that makes a redelivery a no-op and the outcome — plus its share of Kafka fetch
and commit work, all on the cores the brokers and Postgres use. On an idle machine the mailer's SMTP path alone
costs 3.3 ms per send against nodemailer's 2.6 ms. Tried and reverted: committing offsets at most once a second
instead of after every fetched batch (kafkajs' runner commits after each batch while auto-commit is on, read in
\`consumer/runner.js\`; the worker took commits over and flushed them on stop) — G4 0.49 against 0.46 and G5 p99 at
100–150/s 218–278 ms against 80–91 ms, i.e. no gain beyond run-to-run noise, for more moving parts. Left: claiming
and recording several emails per Postgres statement, which would halve the ledger round trips but touches the
per-email dedupe contract — worth its own change with its own fault tests.

**G5 (202 → received).** At the issue's rate — half of G4's *bulk* rate — the pipeline is overloaded: the API, the
load generator, the mailer and the brokers then share the two cores, the mailer keeps up with far less than its bulk
rate, and latency grows for as long as the load lasts. The rate sweep shows where the p99 target holds
(${held.length ? `at ${held.map((x) => `${x}/s`).join(', ')}` : 'at none of the measured rates'}). Tried and reverted: a
fetch minimum of 32 KiB with a 50 ms wait (fewer, fuller fetches) made every rate worse (p99 65 ms at 20/s, 268 ms at
100/s). With Kafka, the API and the mailer on machines of their own (as a Kubernetes deployment places them) this contention is gone; that was
not measured here.

**Peak RSS.** Measured as VmHWM after the G1–G3 rounds (API, ${r.settings.CONNECTIONS} concurrent clients) and after
G4–G5 (mailer). It is not retained data: the API starts at 90 MB RSS (20 MB of heap in use), and a heap snapshot
after the load holds 19 MB; the rest is V8 letting its young and old generations grow under ~3,000 requests/s of
short-lived garbage (request bodies, envelopes, kafkajs' encode buffers). \`node --max-semi-space-size=2\` brought
the API's peak from 181 to 166 MB at the same throughput in a profiling run; a lower \`--max-old-space-size\` would
cap it further but would trade memory for crashes on large requests (bodies up to 4 MiB), so neither is set by
default. Left: fewer allocations per request.
`;
}
