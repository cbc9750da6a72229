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

**G2 (API ÷ ProducerPerformance).** Profiling found three things, all fixed:
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
costs 3.3 ms per send against nodemailer's 2.6 ms. Tried: committing offsets on an interval instead of after each
fetched batch — no effect, because kafkajs' runner commits after every batch whenever auto-commit is on (read in
\`consumer/runner.js\`); so reverted. Left: (a) claiming and recording several emails per Postgres statement, which
would halve the ledger round trips but touches the per-email dedupe contract, and (b) taking offset commits over
from kafkajs — each is worth its own change with its own fault tests.

**G5 (202 → received).** At the issue's rate — half of G4's *bulk* rate — the pipeline is overloaded: the API, the
load generator, the mailer and the brokers then share the two cores, the mailer keeps up with far less than its bulk
rate, and latency grows for as long as the load lasts. The rate sweep shows where the p99 target holds
(${held.length ? `at ${held.map((x) => `${x}/s`).join(', ')}` : 'at none of the measured rates'}). With the API and the
mailer on their own machines (as in docker-compose or Kubernetes) this contention is gone; it was not measured here.

**Peak RSS.** Measured as VmHWM after the G1–G3 rounds (API, ${r.settings.CONNECTIONS} concurrent clients) and after
G4–G5 (mailer). Most of it is V8 heap growth under load (the young generation and request/record buffers), not
retained data.
`;
}
