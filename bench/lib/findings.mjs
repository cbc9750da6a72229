// The report's "what bounds it" section: what profiling showed, what was fixed, what is left.
const f = (n, d = 0) => Number(n).toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });

const g1Peer = (r) => r.G1.peer.median;

export function findings(r) {
  const held = (r.G5.sweep ?? []).filter((e) => e.p99 <= 50).map((e) => e.rate);
  return `## What bounds each figure

Everything runs on ${r.machine.cpus} cores: during the API rounds the three brokers alone use more than one of
them. Profiles were taken with \`BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=…"\` (the services' CPU profiles under
load) and \`BENCH_ONLY=api|mailer|scaling\` (one part of the run).

**G1 (API ÷ the BullMQ peer).** Missed at both client counts. The peer writes one copy of each job into one
Redis; the API answers after three brokers have the record (acks=all), on the same two cores. Kafka's own
ProducerPerformance — no API in front, batches of 16 KB, many requests in flight — reaches
${f(r.G2.producerPerformance.median)}/s here, against the peer's ${f(g1Peer(r))}/s: even an API that cost nothing
would score about ${f(r.G2.producerPerformance.median / g1Peer(r), 2)}. Measured with \`top\` during a 64-client round: the
three brokers used 116 % of a core between them, the API 44 %, Postgres 24 % and the load generator 6 % — the
machine is saturated and the brokers take 60 % of it. With closed-loop clients the API's throughput is *clients ÷
latency*, and its latency is the produce (one idempotent send in flight per producer: 24–39 ms a send of 22–26
records at 64 clients, from the API's \`produce_duration\` and \`produce_batch_records\` metrics) plus the ledger row
written after the ack, which is what lets \`GET /v1/emails/:id\` find an email the moment its 202 arrives. The peer
between rounds: its queue is emptied (nothing consumes it, and a queue grown by millions of jobs made Redis rewrite
its append-only file during the API's next round).
Tried for G1 and measured with \`bench/ab.mjs\` (API variants interleaved on one stack, 3 rounds):
\`KAFKA_COMPRESSION=gzip\` against none, 633 (240–931) vs 431 (402–795)/s at 64 clients and 1,642 vs 1,602/s at
256 — within the noise, so the default stays \`none\` (the brokers' CPU goes to requests and replication, not bytes).
LZ4 and ZSTD need native codec packages kafkajs does not ship; not measured.

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

**G4 (mailer ÷ raw nodemailer).** Raw nodemailer does one SMTP transaction per email. The mailer also claims each
email in the ledger (the claim that makes a redelivery a no-op, with its \`queued\` event and the suppression check)
and records its outcome with its events, which the outbox relay then publishes to the events topic, plus its share of
Kafka fetch and commit work — all on the cores the brokers and Postgres use. This round put those features on the
hot path, inside the figure as #17 requires, and G4 fell from 0.47 (2026-11-22) to
${f(r.G4.ratio, 2)}. Done in #17: the claims and the outcomes of the emails in flight share one statement each
(\`claimMany\`, \`recordOutcomes\`, coalesced by \`services/mailer/src/ledger-batches.ts\` while one runs; each email is
still claimed and recorded on its own terms, and the crash tests pass unchanged). An outcome was a transaction of five
round trips and is now part of one statement; in the tests 30 concurrent claims took 5 statements and 20 outcomes 3.
It did not move G4 (262–273/s before, the same after, in runs of 3 rounds): the ledger round trips were not the
bound. Measured with \`top\` during the mailer's rounds: the machine is saturated (2–5 % idle), the mailer takes 45–59 %
of a core, the three brokers 60–80 % between them, Postgres 10–20 %. The mailer's own CPU is about 2 ms per email; its
profile (\`BENCH_NODE_ARGS=--cpu-prof\`) shows socket writes to Postgres and the SMTP server (\`writev\`, 12 % of its
busy time), nodemailer's MIME build and its streams (\`AbortSignal\`/\`DOMException\` from \`stream.pipeline\` alone 3 %),
and kafkajs. Left: attributing the Postgres writes that remain (the outbox relay's rounds are the next suspect), and
a send path with fewer stream stages per message.

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
