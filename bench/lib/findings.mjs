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
would score about ${f(r.G2.producerPerformance.median / g1Peer(r), 2)}. Measured with \`top\` during a 64-client round before the
brokers' warm-up existed: the three brokers used 116 % of a core between them, the API 44 %, Postgres 24 % and the load
generator 6 %. Measured again on 2026-12-02 (CPU per process from \`/proc\` every 2 s, \`bench/ab.mjs\`, 64 clients,
1,676/s, after the warm-up): the API 69–79 %, the brokers 47–63 %, Postgres 13–17 %, the load generator 7–9 % — the
machine a quarter idle, and the API the largest user. Its CPU profile then: socket writes 21 % of its busy time
(Kafka requests 10 %, Postgres statements 7 %, HTTP responses 4 %), GC 14 %, kafkajs 8 %, fastify and zod 7 %, and
\`randomBytes\` for each email id 3 % (now \`randomUUID\`'s cached entropy, 3.6 against 0.9 µs an id). Per broker thread (from \`/proc\`, 2026-12-01, 64 clients, about 950
accepted/s): the request threads used 34 % of a core, the replica fetchers 15 %, and the JIT compilers 39 % of a core
30 s into the load and still 14 % after 60 s; hence the warm-up before the measured rounds (above). With closed-loop clients the API's throughput is *clients ÷
latency*, and its latency is the produce (one idempotent send in flight per producer: 24–39 ms a send of 22–26
records at 64 clients, from the API's \`produce_duration\` and \`produce_batch_records\` metrics) plus the ledger row
written after the ack, which is what lets \`GET /v1/emails/:id\` find an email the moment its 202 arrives. Between
rounds the peer's queue is emptied (nothing consumes it, and a queue grown by millions of jobs made Redis rewrite
its append-only file during the API's next round).
Tried for G1 and measured with \`bench/ab.mjs\` (API variants interleaved on one stack, 3 rounds):
\`KAFKA_COMPRESSION=gzip\` against none, 633 (240–931) vs 431 (402–795)/s at 64 clients and 1,642 vs 1,602/s at
256 — within the noise, so the default stays \`none\` (the brokers' CPU goes to requests and replication, not bytes).
LZ4 and ZSTD, which kafkajs does not ship, were measured on 2026-12-01 through codecs registered for the test
(\`lz4-napi\` 2.10.0, LZ4 frames; \`zstd-napi\` 0.0.13), all four settings interleaved on one stack, twice, in opposite
orders (3 then 4 rounds of 5 s). Medians, none / gzip / LZ4 / ZSTD: 1,289 / 1,427 / 1,503 / 1,387 and then 1,447 /
1,462 / 1,423 / 1,357/s at 64 clients; 1,871 / 1,987 / 1,764 / 1,973 and then 1,952 / 1,905 / 2,076 / 2,010/s at 256.
No codec wins in both runs, and one setting's rounds spread wider than the settings differ (ZSTD: 1,274–1,804/s at
64 clients in the second run); a send took 13–14 ms with none, LZ4 or ZSTD
and 19 ms with gzip. The codecs were not kept: a native dependency (ZSTD's is built with node-gyp at install) for no
measured gain; gzip stays available for large attachments, where bytes matter more than here.
The row written after the ack, timed in the API on 2026-12-02 at 64 clients: the produce took 15 ms (p50) of a
request's 35 ms and the row 10–12 ms, its statement 8–9 ms for 24 rows; sampled every 5 ms in \`pg_stat_activity\`, that
statement spent 46 % of its time in \`WalSync\` and 7 % waiting for \`WALWrite\`. It now commits without waiting for the
WAL flush (\`synchronous_commit = off\` on a pool of its own; the row is best effort by design, and a mailer's claim
writes it and its \`queued\` event when missing; README, "Status right after a 202"): the statement 5–6 ms. Interleaved
(\`bench/ab.mjs\`, 4 rounds of 10 s, two runs in opposite orders): 1,985 (1,420–2,037) against 1,595 (1,516–1,647)/s and
1,851 (1,601–1,941) against 1,556 (1,386–1,857)/s at 64 clients, p99 62 and 73 against 88 and 96 ms; at 256 clients
1,909 against 1,788 and 2,103 against 2,135/s, no difference. The full run of 05:17 UTC that day, the first with it,
measured G1 0.23 and 0.31 (1,281 and 1,768/s) against 0.23 and 0.34 at 02:45, in a run where the host was slower
throughout (medians against 02:45: the hello-world −13 %, the BullMQ peer −19 % at 64 clients, ProducerPerformance
−12 %, the mailer −15 % with its code the same but for one file split in four): a change of a fifth shows in
interleaved rounds on one stack, not between two full runs. The same change measured no gain on 2026-12-01 (677 vs
782/s at 64 clients, 1,529 vs 1,594/s at 256), when the brokers' compilers were still busy in the measured rounds and
the API ran at 700/s with 64 clients.
The log level. Until 2026-12-02 08:47 UTC the bench ran the services at \`LOG_LEVEL=warn\`; users run \`info\`, the
default, where the API wrote three JSON lines a POST (fastify's \`incoming request\` and \`request completed\`, and
the route's \`emails accepted\`). Interleaved (\`bench/ab.mjs\`, 3 rounds of 10 s) \`info\` against \`warn\`: 2,838 against
3,196/s at 64 clients and 3,102 against 3,482/s at 256 (−11 % both). The API now writes one access line a request
(README, "API configuration"): measured again on a slower host, 1,543 against 1,670/s at 64 clients (within the
rounds' spread) and 1,975 against 2,199/s at 256 (−10 %). The bench now runs every service at its default level, the
lines going to \`/dev/null\`; the full run of 08:47 UTC, the first so, measured G1 0.22 and 0.32 (1,296 and
1,647/s) against 0.23 and 0.31 at 05:17 at \`warn\`, on a host about as fast (the hello-world 25,650 against 25,214/s,
the peer 5,222 against 5,680/s at 256 clients).
G1 is a ratio to a peer that scales with the host differently: in the run of 13:01 the host ran the hello-world
2.2 times and the BullMQ peer (one Redis thread) 2.4 times as fast as at 08:47, but Kafka's ProducerPerformance only
1.4 times and the API 1.8 times (2,897 against 1,647/s at 256 clients), so G1 fell to 0.17 and 0.23 while every rate
of ours rose.
What the line cost was mostly its redaction: pino runs a path that starts with \`*\` (the logger had six, \`*.password\`
to \`*.attachments\`) as a redactor over every field of every line and of every child's bindings. Measured on
2026-12-02 (one request's child logger and access line, 100,000 times to \`/dev/null\`, 5 repeats): 8.9–9.6 µs with
those paths, 3.7–3.8 µs with the exact paths kept and the same keys one level down censored by a log formatter and a
\`child\` wrapper (\`packages/runtime/src/logger.ts\`), 2.9–3.1 µs with no redaction at all. In the API under load
(\`bench/ab.mjs\` with the API's CPU read from \`/proc\` per round, 3 rounds of 10 s, the two builds interleaved):
with the old build first, 172 against 257 µs of CPU a request at 64 clients (4,026 against 3,325/s) and 278 against
301 µs at 256 (3,534 against 3,286/s) — more than the line costs alone; in the other order, 184 against 181 µs at 64
clients (3,727 against 3,811/s, within the spread) and 256 against 266 µs at 256 (3,693 against 3,423/s). The reading
kept is the smaller one: about 10 µs of the API's 180–270 µs a request, and no change at 64 clients that rounds of
10 s can show.
Where the API's garbage comes from, measured on 2026-12-02 (V8's sampling heap profiler with collected objects kept,
\`bench/lib/alloc-profile.mjs\`, 8 s at 64 clients, 3,400/s): about 68 KB a request, and two items that bought
nothing. kafkajs' default partitioner hashed each email id with its BigInt-backed \`Long\` at every step of murmur2: 3
µs and about 4.4 KB a 36-character key, 6.5 % of the API's allocations; the same hash in 32-bit integer arithmetic
(\`packages/runtime/src/murmur2.ts\`, checked against the Java client's values and kafkajs' own) takes 0.1–0.2 µs. And
the redact paths \`req.headers.authorization\` and \`req.headers.cookie\` made pino clone and serialize every access
line's \`req\` to censor headers that fastify's serializer never emits (1.6 KB and 0.6 µs a line); the logger's own
\`req\` serializer now builds fastify's fields from the request, so no header can be logged at all. Under load
(\`bench/ab.mjs\`, both builds as two processes each, interleaved, 3 rounds of 10 s): 169–180 against 194 µs of the
API's CPU a request at 64 clients, 261–292 against 291 µs at 256 — the expected 5–7 µs, inside the rounds' spread. The
same runs showed why one API process a variant misleads: the process that had taken the brokers' warm-up load ran
40–65 µs a request slower than the others for the whole run, whichever build it was (three runs); \`bench/ab.mjs\` now
spreads the warm-up over every variant. The rest of the 68 KB is spread thin: the access line's JSON (5.9 KB),
kafkajs' record encoding (about 8 KB), the envelope's JSON, fastify's body parse, pg's array parameters, and the three
micro-batchers' promises and timers. The mailer, profiled the same way over a bulk round (600/s): about 220 KB of
garbage an email, most of it nodemailer's MIME nodes and stream pipelines (built twice: once to bytes, once streamed
to the server), and pg's array parameters 3 %.
Spreading each send over one partition per broker (3 partitions a send instead of the keys' 12, so each broker gets one
larger record batch; a temporary switch, 4 interleaved rounds): 1,679 against 1,593/s at 64 clients and 1,934 against
1,913/s at 256 — within the spread, so the records stay placed by their keys.
A longer produce linger (\`PRODUCE_LINGER_MS=5\` against the default 2, 4 interleaved rounds on 2026-12-01): 689 vs
676/s at 64 clients and 994 vs 1,007/s at 256, with 29 records a send instead of 22 — no difference; the default stays.
The suppression look-up waiting up to 5 ms for company (as the mailer's outcomes now do; its wait hides behind the
produce it runs beside), \`bench/ab.mjs\` on 2026-12-03, 4 rounds of 10 s: first run, the look-up's wait second,
4,715 against 3,869/s at 64 clients (147 against 194 µs of CPU a request); second run, its wait first, 3,772 against
4,138/s (208 against 170 µs); a third run, two API processes of each (3 rounds): 5,116 and 4,532/s with the wait
against 4,225 and 3,735/s without; a fourth, with the wait only while a look-up is in flight (so a look-up at a low rate
never waits; \`busyLingerMs\`), the wait first: 4,455 and 4,750/s against 5,309 and 4,736/s. No gain that survives the
order: in three of the four runs the API process started first was the slowest, whichever build. \`bench/ab.mjs\` now
warms the brokers through an API of its own and rotates the order each round; three copies of one build then ran at
132–138 µs a request, but in the next run (the look-up's wait again, two processes each, the wait's first) the process
started first took 244 µs against 152–179 for the other three, and the wait's second process ran at 4,598/s against
4,706 and 4,118/s without it. Not kept. Why one API process could run at half again the CPU a request of its twins for
its whole life was found the day after: its mark-compacts ("Mark-compacts", below). Three copies of one build, measured
again on 2026-12-05 (\`bench/ab.mjs\`, 64 clients, 4 rounds of 10 s, each under \`--cpu-prof\`): 210, 228 and 231 µs a
request (medians), and 42.3, 42.6 and 42.7 s of CPU over their lives (from \`/proc\`, every thread). A variant is still
read against a copy of itself: in the first round the three copies spread from 241 to 280 µs, and in the last from 196 to 218.

**G2 (API ÷ ProducerPerformance).** Interleaving matters here: right after a ProducerPerformance round has written
${f((40000 * r.G2.recordBytes * 3) / 1e6)} MB across the replicas, the brokers are still busy with it, and the API's
rounds score lower than the same API alone (the scaling table's row with the same settings:
${f(r.scaling.api.find((a) => a.lingerMs === 2 && a.maxBatch === 500 && a.producers === 1 && a.connections === r.settings.CONNECTIONS)?.rps ?? 0)}/s);
ProducerPerformance itself varies as much (${f(r.G2.producerPerformance.min)}–${f(r.G2.producerPerformance.max)}/s).
Profiling found these, all fixed (1–3 on 2026-11-22, 4 in #17):
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
4. *One suppression look-up per request* (the 202's \`suppressed\` list, read alongside the produce). Concurrent
   requests first shared one statement (in the API's test 60 concurrent sends made 3), as the row inserts do. Under
   load they still made the API's most frequent statement: counted with a \`pg\` query counter (\`--import\`) over
   \`bench/ab.mjs\` runs on 2026-12-04, 5,334 and 5,436 look-ups beside 4,267 and 4,381 row inserts, sent as the
   requests arrived, where the inserts gather the requests one produce's ack resumes. The look-up now rides in the
   statement that records the rows after the ack (\`packages/ledger/src/accepted-queries.ts\`; the request waited
   for that statement anyway, and the list is for information: the mailer's claim checks again): 4,700 and 4,893
   statements in all, half as many. Interleaved (\`bench/ab.mjs\`, two processes of each build, 3 rounds of 10 s):
   2,380 and 2,314 against 2,114 and 2,206/s at 64 clients (295 and 297 against 366 and 317 µs of the API's CPU a
   request), 2,495 and 2,840 against 2,315 and 2,303/s at 256 (p99 286 and 205 against 298 and 307 ms); an earlier
   run with one process of each, 2,351 against 2,324/s and 3,011 against 2,721/s.

Tried and measured worse, so not kept: one batcher per partition (12 small pipelines) and 4–12 producers with
single-partition sends — more, smaller requests, and the brokers' CPU is the bound (\`PRODUCERS\` > 1 in the scaling
table shows the same). Two producers, measured again on 2026-12-02 because at 64 clients the machine then had a quarter
of its CPU idle and each request waited for the send in flight (\`bench/ab.mjs\`, 4 interleaved rounds of 10 s):
1,412 against 1,655/s at 64 clients and 1,692 against 1,958/s at 256, with 17 records a send instead of 30 — worse;
one producer stays. Three producers, measured again on 2026-12-05 now that a send goes to one broker (three sends in
flight, each a single request; \`bench/ab.mjs\`, two API processes of each, 4 interleaved rounds of 10 s): 3,045 and
3,003 against 3,340 and 4,062/s at 64 clients, 3,948 and 3,998 against 3,736 and 3,723/s at 256 — 12 records a send
instead of 43, and 3.4 times the sends. Only the tail at 256 clients was better (p99 117 and 113 against 190 and 238
ms: a slow send holds up a third of the requests, not all of them); the rate at 64 clients was worse, so one producer
stays.

**G3 (latency at half the API's maximum).** ${r.G3.p99 <= r.G3.targetP99 ? 'Met' : 'Missed'} in this run: p99 ${f(r.G3.p99)} ms at
${f(r.G3.rate)}/s against ${f(r.G3.targetP99)} ms (twice ProducerPerformance's p99 at the same rate, plus 5).
Until 2026-12-01 the load came from autocannon's rate limit, which is per connection and per second: each
connection sends its share back to back when its one-second interval starts (its \`httpClient.js\`), and the 256
connections' intervals start together, so each second's requests came in a burst at its start, where
ProducerPerformance, the reference, paces its sends. Measured on the same code at 1,000/s, the bursts cost less than
that suggests: autocannon's rounds p99 162–540 ms (p50 51–68 ms, two runs of 4 rounds), the open loop's 144–258 ms
in 5 of the 6 rounds after each run's first, 813 ms in one (p50 29–61 ms) — so the move from the 597 ms of that
day's 17:10 UTC report is mostly the change below and the runs' spread. G3's load is now an open loop paced evenly
(\`bench/lib/open-loop.mjs\`, on undici): a request is issued on time whatever the earlier ones are doing, its wait
for a free connection counts in its latency, and how late the generator itself issued requests is reported (in the
table) rather than charged to the API; its own floor, against the fastify hello-world with the machine otherwise
idle (3 rounds of 10 s at 1,000/s), is p50 0.2–0.3 ms and p99 1.5–4 ms. \`node bench/ab.mjs\` with \`BENCH_RATE\`
loads the API the same way.
Paced this way, with the change below, three full runs on 2026-12-01 measured p99 115 ms at 1,036/s (19:41 UTC,
target 195 ms: met), 190 ms at 1,022/s (20:07 UTC, target 97 ms: missed) and 187 ms at 1,071/s (22:59 UTC, target
133 ms: missed). The target moves with ProducerPerformance's own p99 at the rate, which shares the cores too (123, 95,
46 and 64 ms in that day's four runs), and in the 20:07 run the generator itself issued requests up to 107 ms late
(p99 33 ms): the machine, not only the API, sets this tail. The full run of 2026-12-02, 02:08 UTC (the API
unchanged) measured p99 94.7 ms at 1,062/s against a target of 235 ms (ProducerPerformance's p99 115 ms): met, and
under the 133 ms of the run before it too. The run of 02:45 the same day (the API's HTTP path unchanged; only SMTP
submission's parser now loads on first use) measured p99 1,281 ms at 1,000/s with a p50 of 55 ms, against a target of
311 ms: missed, in a run where the host itself wavered (ProducerPerformance 7,346–11,838/s across its rounds, the
BullMQ peer 2,561–6,764/s, the hello-world 20,549–37,464/s). The run of 05:17 (the row after the ack now committed
without waiting for the WAL flush; below) measured p99 565 ms at 884/s (p50 24 ms) against a target of 219 ms: missed.
The run of 08:47 (the services at their default log level) measured p99 917 ms at 823/s (p50 35 ms) against 157 ms: missed.
The run of 13:01 (the logger's redaction cheaper; a host 2.2 times as fast for the hello-world, 1.4 times for
ProducerPerformance) measured p99 104 ms at 1,448/s (p50 9.8 ms) against 153 ms: met.
One G3 figure is one 10-second window on a shared host.
Where a request's time goes at 1,000/s, measured on 2026-12-01 with the API's stages timed (a temporary patch, 5 s
windows): fastify's own time for a request p50 19–31 ms and p99 52–120 ms, about half of it the produce (waiting
for the batch in flight, then its own send of 7–13 records) and half the ledger row written after the ack. Half of
those row inserts carried a single row: the requests that one produce's ack resumes all record their rows in the
same event-loop turn, and the batcher (no linger, two statements in flight) sent the first at once, the second at
once, and the rest after one of them. The inserts and the suppression look-ups (batched the same way) now wait for
the end of the turn
(\`sameTurn\` in \`packages/runtime/src/micro-batcher.ts\`), and an insert carries the rows of a produce; in the API's
test, 500 concurrent sends made 67 inserts for 68 produce requests (161 for 64 without it). Interleaved rounds at
1,000/s (4 of 10 s, the same stack): p99 85–115 ms after the first round (428 ms) against 144–258 ms (795 ms)
before, p50 21–31 against 33–40 ms. Tried for the mailer's batchers as well (its claims, outcomes and retry
produces) and not kept: 2.5 emails a claim statement and 2.5 an outcome statement over a mailer-only run's G4
rounds (12,500 emails; 2.3 and 2.8 before, over rounds 2–3), and G5 at 100/s slower (\`BENCH_ONLY=mailer-ab\`, 4
interleaved rounds, a fresh mailer each: p50 median 70 against 38 ms, p99 median 387 against 214 ms), so the
mailer's batchers still send at once. The row committed
without waiting for the WAL flush (\`synchronous_commit = off\`, 4 interleaved rounds under the old bursty load)
made no difference to G3 on 2026-12-01 (p99 median 401 against 252 ms); with the brokers warmed it raised the
64-client rate by a fifth (G1, above), and it is now how that row commits.
The gap between fastify's time and the client's was not measured further (likely the loopback and both
processes waiting for one of the two cores).

**G4 (mailer ÷ raw nodemailer).** Raw nodemailer does one SMTP transaction per email. The mailer also claims each
email in the ledger (the claim that makes a redelivery a no-op, with its \`queued\` event and the suppression check),
records its outcome with its events, and the outbox relay publishes those events to the events topic; plus its share
of Kafka fetch and commit work — all on the cores the brokers and Postgres use. This round put the events outbox, the
suppression check and the relay pool on that path, inside the figure as #17 requires; G4 was 0.47 on 2026-11-22
without them, and 0.23 with them at the start of #17 (240/s against 1,047/s, the same day as this report's first run).
Counted with a \`pg\` query counter (\`--import\`) over a mailer round, then fixed:
1. *The outbox relay ran a round per nudge*, i.e. per outcome: five statements a round (begin, lock, select, update,
   commit) for a handful of events, 44 % of the mailer's statements. Rounds now start at least 100 ms apart
   (\`CoalescedLoop\`'s \`minGapMs\`): 773 rounds for 4,700 emails before, 568 for 12,700 after.
2. *Each email's claim and outcome were statements of their own*, the outcome a transaction of five round trips. The
   claims and the outcomes of the emails in flight now share one statement each (\`claimMany\`, \`recordOutcomes\`,
   coalesced by \`services/mailer/src/ledger-batches.ts\` with one statement in flight; a failing statement is retried
   email by email, so one email's data never holds up the others). Each email is still claimed and recorded on its own
   terms, and the crash tests pass unchanged. 2.4 emails a statement under the bench's load (1.5 with two statements in
   flight).
3. *Postgres parsed and planned each of those statements on every run* (they went unnamed), which cost it more CPU
   than running them. The statements every email or request runs (the claim, the outcome, the API's row and
   idempotency reservation, the suppression check, the status lookup) are now prepared once per connection
   (\`packages/ledger/src/prepared.ts\`) and planned generically: the pool sets \`plan_cache_mode\`, because left to
   choose Postgres kept custom plans (8 runs of 8 in \`ledger-batches.test.ts\`, which now checks the generic ones).
   On one connection, a claim and an outcome of two emails cost Postgres 1.8–2.2 ms of CPU unnamed, 1.3–1.6 ms prepared
   with custom plans, 0.9 ms with the generic plan, and about the same for one email or eight a statement: the cost of
   a statement, not of its rows. \`EXPLAIN (GENERIC_PLAN)\` on a ledger of a million emails: every generic plan looks its
   rows up by primary key. Mailer-only runs on one AMD EPYC host on 2026-12-01 (CPU from \`/proc\` over rounds 2–3,
   8,000 emails): Postgres 1.21 and 1.28 ms of CPU an email before, 0.86–1.09 after (3 runs); the mailer 2.0–2.2 ms
   before, 1.6–2.3 after; the mailer's median rate 352–403/s before (3 runs), 326–505/s after (5 runs, median 421),
   G4 0.22–0.25 before and 0.25–0.32 after. The host's own noise is of the same size (raw nodemailer ranged
   751–1,966/s across these runs), so the direct measure is Postgres' CPU. Kafka requests, counted the same way (a
   kafkajs request counter over rounds 2–3): per 1,000 emails 27 fetches, 4 offset commits and 66 produce requests
   (the outbox relay's events, one request per broker a round) — not where the mailer's CPU goes.

Items 1 and 2 together: about 1 statement per email instead of 2.1; the mailer went from 240 to 377/s in a mailer-only run (3 rounds,
raw nodemailer 1,167/s in the same run), and G4 from 0.23 to 0.32 in the full run of 2026-12-01, 11:33 UTC (Intel Xeon host); with item 3 too, 0.45 in the full run of 2026-12-03, 02:15 UTC (${f(r.G4.ratio, 2)} in this report's run, with the outcomes' wait below, on a slower host). What is left, from \`top\` during the rounds: the machine is saturated (2–5 %
idle); the mailer takes 45–59 % of a core, the three brokers 60–80 % between them. The mailer's profile
(\`BENCH_NODE_ARGS=--cpu-prof\`) shows socket writes (Postgres and SMTP), nodemailer's MIME build and its streams
(\`AbortSignal\`/\`DOMException\` from \`stream.pipeline\` alone 3 % of its busy time) and kafkajs. Left: fewer stream
stages per message, and the brokers' share of the fetch and commit work.
Measured again on 2026-12-01 (mailer-only run, 20,000 emails, CPU ticks per process from \`/proc\` every 8 s, Postgres
sampled through \`pg_stat_activity\` every 5 ms): during the round the machine was 87–94 % busy, the mailer at 0.72 of a
core (2.5 ms of CPU an email at 290/s), Postgres 0.47, the brokers 0.4, the sink 0.15. Postgres committed 0.8
transactions an email: at this rate about 1.5 emails meet in a claim or outcome statement, and both statements spend
most of their time waiting on the WAL flush (\`WalSync\`, \`WALWrite\`), which is the durability the ledger is for. The
mailer's busy time by the library that called it: nodemailer 36 %, \`pg\` 18 % (mostly the socket writes), kafkajs
13 %, GC 8 %, our own code under 5 %. Building each message once instead of twice (handing nodemailer the structures
instead of the bytes MailComposer built) saved 5 % of the CPU of nodemailer plus a sink in a standalone measurement,
too little to give up the built-once bytes that a pooled retry re-reads. What would move G4: fewer SMTP and Postgres
socket writes per email (statements grow only with more emails in flight, and 8 sends a partition measured slower than 4), and a
cheaper MIME path than nodemailer's streams.
What nodemailer's layers cost an email, measured on 2026-12-02 with \`bench/smtp-path.mjs\` (one process, the bench's
sink in another, 5 interleaved rounds of 5,000 and then 8,000 emails; medians of the rounds): the mailer's sender 393 and
413 µs of CPU an email, the same bytes written over nodemailer's bare \`SMTPConnection\` 215 and 220 µs, the MIME build
alone 102 and 111 µs (the script then built its own message, without the sender's boundary base; it now builds with
the sender's \`buildMessage\`, and one run of 4 rounds measured 318, 173 and 83 µs). So two thirds of the sending cost is nodemailer's \`Mailer\`, its pool and their stream stages,
not the SMTP conversation; Node's \`stream.pipeline\` alone creates and aborts an \`AbortController\` a message, a
\`DOMException\` with its stack each time (5 % of that process's CPU). The same profile showed \`crypto.randomBytes\`, a
system call each (2.3 µs here), at 16 %: nodemailer drew a random Message-ID (five calls) for every \`raw\` message,
whose bytes already carry ours, and a random boundary base for every MIME node. The sender now gives it both: 7 calls
an email down to 1 for a text email, 9 to 3 with HTML; the saving, about 15–20 µs, is inside the rounds' spread (413
against 411 µs in the second run). A transport of our own over \`SMTPConnection\` would save about 180 µs an email,
some 7 % of the mailer's 2.5 ms of CPU an email under the bench's load if it costs the same there; it would have to
carry what nodemailer's pool does for us (reconnects, the send deadline, the DATA probe that tells an uncertain send
from an unsent one, DKIM signing) and their fault tests. Done on 2026-12-03 (\`services/mailer/src/smtp-pool.ts\`, over
\`SMTPConnection\`, with those behaviours and their tests): \`bench/smtp-path.mjs\`, 5 rounds, the old sender 288–306 µs
of CPU an email, the new one 198–207 µs, bare \`SMTPConnection\` 159–166 µs, the build alone 75–77 µs. Under the
bench's load (\`BENCH_ONLY=mailer BENCH_ROUNDS=3\` with \`--cpu-prof\`, the same host 20 minutes apart, about 21,000 emails
each): the mailer's busy time 30.2 s before, 26.6 s after (−12 %); G4 0.30 and 0.34 in those two runs. What is left of
nodemailer's streams is the MIME build's own \`stream.pipeline\` (one a message and one a text or HTML part, each an
\`AbortController\` and a \`DOMException\` when it ends: 3 % of the mailer's busy time).
Profiled the same way on 2026-12-05 (37.4 s busy over the run's three bulk rounds and G5's): the system calls that
write to sockets 27 % (Postgres statements 10.7 %, SMTP 10.4 %: the envelope's commands 5.5 % and the message 4.9 %,
Kafka requests 4.6 %), node's own code 20 % (of it the streams' abort machinery, \`DOMException\`, \`AbortSignal\`,
\`pipeline\` and end-of-stream, 5 %), nodemailer 11 %, GC 8.4 %, kafkajs 5.9 %, the mailer's own code 4.8 %. One more
1.1 %: nodemailer draws a random boundary (\`crypto.randomBytes\`, a system call) for every child MIME node, which only
a multipart node uses; the sender's \`baseBoundary\` reaches the root alone. No single item is worth what a patch of
nodemailer or a MIME builder of our own would cost to keep correct; the writes are the other processes' work too
(on one host a loopback write runs the receiver's side of TCP).
The ledger's statements by what they cost, measured on 2026-12-02 (\`BENCH_ONLY=mailer\` runs, 23,000–26,000 emails
each, with Postgres started with \`pg_stat_statements\` by a temporary patch): the outcome statement 46–54 % of the
ledger's statement time, the claim 27–32 %, the API's row after the ack 5–11 % (G5's load), the foreign-key checks of the
events and recipients 3.6–3.8 %. The outbox relay marked each event it published (\`update email_events set
published_at\`): 7.3–7.8 % of the statement time and 27 % of the WAL (677 bytes an event, a new version of the whole
row and its index entries), 5,103–5,262 WAL bytes an email in all (2 runs). The outbox is now a table of its own
(\`event_outbox\`, a \`seq\` queued by a trigger in the statement that writes the event, deleted once published):
3,958–3,961 WAL bytes an email (−23 %, 2 runs), 34 WAL records instead of 40, and the relay's statements 4.6 % of the
statement time. Its first version joined the outbox to the event log, and Postgres planned that as a scan of the
whole log on the small table's stale statistics (7 ms a round, 31 % of the statement time at 46,000 events); the
events are now read by primary key (a test checks the plan). Postgres' CPU an email during the mailer's rounds: 1.29
ms before, 1.25 ms after on a host as fast (raw nodemailer 1,246 and 1,087/s), 0.81 ms on a host twice as fast (1,937/s):
the CPU it saved is inside the host's noise, the WAL is what it measurably cut; G4 0.27, 0.27 and 0.34.
What Postgres' CPU an email depends on, measured on 2026-12-03 with \`bench/ledger-path.mjs\` (the ledger alone: the
claim that creates the row, the outcome with its \`email.sent\` event, the outbox relay every 100 ms; Postgres' CPU
from \`/proc\`; 2 rounds of 2,000 emails each): 830 µs an email at one email a statement, 400 at two, 260 at four, 150
at eight, and the WAL the same (3,850–3,890 bytes an email) — the cost is the statement, not its rows. The outcome is
the dearer statement, and its wait is one nobody sees: the message is out, only its offset and its send slot wait.
So an outcome now waits up to 5 ms for company, counted from the oldest one waiting (\`OUTCOME_LINGER_MS\`,
\`MicroBatcher\`'s \`busyLingerMs\`); outcomes eight a statement with claims two measured 265 against 440 µs.
Interleaved on one stack (\`BENCH_ONLY=mailer-ab\`, which now also measures each variant's bulk rate; 4 rounds, a fresh
mailer each): 946 against 869/s and 986 against 815/s in two runs, G5 at 100/s unchanged (p99 medians 15 and 26
against 53 and 25 ms); 10 ms measured no better (938/s). Counted over a mailer-only run (\`BENCH_ROUNDS=2\`, a \`pg\`
statement counter): 3.6 emails an outcome statement (2.2 before) and 2.6 a claim (2.0: emails now finish, and so
start, together), 0.92 statements an email (1.2). The send slot is held until the outcome is written, so a SIGKILL
still leaves at most the sends in flight unrecorded (e2e 3 checks that bound). The outbox relay's rounds were then 29 %
of the mailer's statements (six each: begin, lock, seqs, events, delete, commit); the lock, the seqs and their events
are now one statement, the events still read by primary key (the plan test passes unchanged): four a round (five since 2026-12-05, the fifth a planner setting that keeps a round on the outbox's index after a backlog; README, "The statements every email runs").
Tried and not kept: a claim that waits too (2 ms: G5's p50 3 ms higher, no bulk gain, 905 against 986/s); dropping
the \`emails_updated_at_idx\` index no statement names (3–4 % less WAL, Postgres' CPU inside the noise; and the
retention purge's generic plan reads it: without it a batch of 1,000 read 2,505 rows instead of 2,000,
\`retention.test.ts\`). Since 2026-12-07 \`emails_account_created_idx\` on \`(account, created_at)\` serves the list of an
account's emails: measured on the table alone (an insert and two state changes an email, each a new version of the
row and so of every index entry), 1,392–1,412 bytes of WAL an email with it against 1,137–1,157 without, about 6 % of
the 3,960 an email of the mailer's rounds; with the id in the index too, 1,526–1,548; the first full run with it, 2026-12-07, below. Also tried and not kept: the SMTP body and
its end-of-data line as one write (the socket corked from the 354 to the next turn: 2 system calls an email instead of
3, and \`bench/smtp-path.mjs\` measured the same CPU, 206–217 against 201–225 µs, for a reach into \`SMTPConnection\`'s
private socket).

**G5 (202 → received).** At the issue's rate — half of G4's *bulk* rate — the pipeline is overloaded: the API, the
load generator, the mailer and the brokers then share the two cores, the mailer keeps up with far less than its bulk
rate, and latency grows for as long as the load lasts. The rate sweep shows where the p99 target holds
(${held.length ? `at ${held.map((x) => `${x}/s`).join(', ')}` : 'at none of the measured rates'}). Tried and reverted: a
fetch minimum of 32 KiB with a 50 ms wait (fewer, fuller fetches) made every rate worse (p99 65 ms at 20/s, 268 ms at
100/s). With Kafka, the API and the mailer on machines of their own (as a Kubernetes deployment places them) this contention is gone; that was
not measured here. Measured on 2026-11-30 with the mailer's stages timed (a temporary patch, G5 at 100/s): the machine
was 96 % busy (brokers about half of it, the load generator a fifth, API and mailer a sixth each); a record waited
1.1–2.4 s (p50) between its append and the start of its handling, and its handling took 170–200 ms (p50): claim 13–16
ms, SMTP 120–160 ms, outcome 11–16 ms. The SMTP time is the conversation on a loaded machine (each reply waits for both
event loops), not the pool: 10 connections instead of 5 moved it from 162 to 118 ms. A fetched batch is released only
when its slowest record is done (kafkajs' fetcher waits for all of a fetch's batches before fetching again), so the
wait before handling is a few of those rounds. Offset commits were not what a batch waited for (p50 0 ms, p99 8 ms a
batch), but they were a share of the brokers' CPU (below).
Measured on 2026-12-01 with \`BENCH_ONLY=mailer-ab\` (G5 at 100/s, a fresh mailer and API per round): the same
settings six rounds in a row gave p99 2,268, 480, 258, 256, 351 and 132 ms. The first round after the brokers' warm-up
is slow (that warm-up only produces, which leaves the brokers' consumer-group paths cold: measured below; the full
run's G5 comes after G4's bulk rounds), and after it one setting's rounds spread over a factor of three. Within that spread, 18 partitions at
once instead of 6 (\`PARTITION_CONCURRENCY\`, p99 372, 175, 81 ms) and 8 sends a partition instead of 4
(\`SENDS_PER_PARTITION\`, 335, 127, 239 ms) did no better than the defaults (204 and 66 ms, after a cold first round
of 1,627 ms; the rounds were interleaved, the defaults first), so the defaults stay.
A CPU profile of the mailer over a mailer-only run (\`BENCH_NODE_ARGS=--cpu-prof\`) put 28 % of its busy time in
socket writes: Postgres statements 13 % (\`writev\` of each corked query), Kafka requests 7 %, SMTP 7 %. On one
host a loopback write also runs the receiver's side of TCP, so the lever there is fewer statements and requests an
email, not our code (under 6 %).
At 50/s, with the prepared statements (\`BENCH_ONLY=mailer-ab\`, 2 rounds, 2026-12-01, the services run with an
\`--import\` that records their GC pauses and event-loop delay): p99 261 and 137 ms, p50 9 and 4 ms. Both services'
event loops were late by 16–49 ms at the 99th percentile (\`monitorEventLoopDelay\` at a 10 ms resolution; three
mailers and three APIs, counting the unmeasured first round). Most young-generation scavenges (8 MB semi-spaces) took
1–5 ms, but 6–19 a process took 5–20 ms and 0–2 took 20–33 ms. That
points to the services waiting for one of the two cores, which the three brokers share with them, rather than to work
of their own; the brokers' own pauses were not measured.
How far the host alone moves the sweep: the full runs of 17:10 and 20:07 UTC on 2026-12-01, the mailer's code the
same in both, measured p99 99, 100 and 244 ms, then 253, 774 and 2,086 ms at 50, 100 and 150/s (15 and 8 ms at
20/s). So did this report's run and a mailer-only run two hours later on 2026-12-05 (\`BENCH_ONLY=mailer
BENCH_ROUNDS=3\`, the same code, the mailer even under \`--cpu-prof\`): p99 104, 90 and 120 ms, then 14.4, 35.5 and
68.7 ms at 50, 100 and 150/s, and 2,594 then 1,303 ms at half of G4's bulk rate (352 and 339/s). A G5 figure from one
run says little about a change; \`BENCH_ONLY=mailer-ab\` interleaves the settings.
What a moderate rate costs per email, measured on 2026-12-01 (22:20–22:45 UTC; CPU per process from \`/proc\` every
2 s, the brokers' per thread, and kafkajs requests counted by an \`--import\`; the API and the mailer loaded at 20, 50
and 100 emails/s by the open loop after the brokers' warm-up): far more than in the bulk rounds, because statements
and requests then carry one email each. At 20/s the mailer used 6.5 ms of CPU an email, the API 3 ms, Postgres 3.5 ms
and the brokers' request threads 8.5 ms; at 100/s 3.5, 1.9, 2.2 and 3.8 ms (the mailer's bulk rounds: 2.5 ms). The
mailer committed its consumer offsets after every fetched batch (kafkajs' auto-commit does so whatever its interval),
which at these rates is after every email: 19, 48 and 85–94 \`OffsetCommit\` requests a second, each a write to
\`__consumer_offsets\` that the brokers replicate three ways. It now commits at most once a second
(\`COMMIT_INTERVAL_MS\`, README "Mailer"; all of them at shutdown and at a rebalance): about one commit a second at any
rate, and the brokers' CPU at 100/s 42–43 % of a core against 54 % (request threads 28 against 36 %), at 50/s 28–33
against 36 % (two rounds each, interleaved; the figures with a commit per batch are from its second round, the
first still compiling). G5 at 100/s with both settings interleaved (\`BENCH_ONLY=mailer-ab\`, 4
rounds): p50 52, 83, 28, 21 ms against 584, 112, 65, 100 ms with a commit after every batch, p99 461, 573, 103, 118 ms
against 1,471, 410, 428, 479 ms; the brokers used 40–55 % of a core against 50–79 %, and as the machine stayed
saturated (185–195 % of its two cores) the CPU they freed went to the API and the mailer. Measured at the same time:
the brokers' C2 compiler threads, which the warm-up had brought down to 4 % of a core, took 36–43 % over the first
20 s of this load and 13–20 % over the next 90 s (the consumer-group paths compiling), and G5's generator (a
\`fetch\` per POST) took 16–18 % of a core at 100/s, twice what the open loop (undici's \`Pool\`) took at that rate.
G5's POSTs now go through that open loop (64 connections), as G3's do. Interleaved on one stack on 2026-12-02
(\`BENCH_ONLY=mailer-ab\`, 5 rounds at 100/s, the old generator and the new one in turn, same mailer and API): the
generator's process took 16–17 % of a core with \`fetch\` against 9–12 % with the open loop, and G5's p99 was 1,654,
642, 242, 408 and 191 ms against 367, 837, 120, 128 and 126 ms (medians 408 against 128 ms; p50 medians 53 against
23 ms). The figures before 2026-12-02 were measured with the \`fetch\` generator. \`BENCH_ONLY=mailer-ab\` now also
loads the pipeline at its rate, unmeasured, until the brokers' compilers are quiet again (the first round after the
produce-only warm-up found them at 73–79 % of a core, against 30–37 % from the third round on).
Where G5's time goes at 100/s now, from the mailer's stages timed per email (a temporary patch; the mailers of two
interleaved runs on 2026-12-02, the first third of each round left out): in the better rounds an email waited 10–16 ms
(p50) and 89–144 ms (p99) between its append to the topic and the start of its handling, its claim took 4–5 ms
(p99 19–34 ms) and its SMTP send 10–14 ms (p99 68–106 ms), against 3 ms for one send on an idle machine (nodemailer's
pool to the same sink, one email at a time). Every stage's p99 is several times its p50 in the same rounds, and the
slow rounds are slow in every stage at once: the tail is the moments when the two cores are taken (the brokers'
request threads and compilers, the API, Postgres), not one stage. Tried and not kept, both measured interleaved at
100/s on 2026-12-02: the outbox relay's rounds at most every 250 or 500 ms instead of 100 ms (fewer produce requests
and statements; the brokers' CPU did not move beyond the rounds' own spread, 30–37 % of a core each way once warm,
and G5's p99 medians were 292, 255 and 266 ms), and Nagle's algorithm turned off on kafkajs' sockets (Kafka's own
clients set TCP_NODELAY, kafkajs does not): G5 p99 median 242 against 210 ms with Nagle on, the API at 1,000/s p99
median 405 against 349 ms in one run and 353 against 470 ms in another, its closed-loop rate within the rounds' spread,
and one produce at a time of 8–130 KB took the same 4–9 ms (p50) either way once warm: Linux's Nagle only holds a
segment back behind an unacknowledged small one, and kafkajs writes each request at once.

**Mark-compacts (2026-12-03).** Four API processes of one build on one stack (\`bench/ab.mjs\`) used 250–460 µs of
CPU a request, and one of them was often about 1.5× its twins for its whole life. A CPU profile did not show why: it
records the main thread only. The threads' CPU from \`/proc\`, the API's GC metrics and \`--trace-gc\` did. Under a
heap cap of 256 MB or less, V8 lets the old generation grow by only 1.3× its live size before the next mark-compact.
The API holds about 27 MB live, so it ran a mark-compact every 0.5–1 s under load. In the run with \`--trace-gc\`
(3 rounds of 5 s at 64 clients), the slow process against its three twins:
- 8–9 mark-compacts a round, against 3–6;
- 360–416 µs of CPU a request, against 273–341;
- its other threads (concurrent marking) 86–130 µs a request, against 45–92;
- its scavenges 34–36 µs a request, against 27–34.

The effect feeds itself: a slower process holds each request longer, so more survives each scavenge and is promoted.
The API and the mailer now run with \`--heap-growing-percent=60\`, a fixed factor of 1.6. It goes on the command line
(the images' \`CMD\`), because Node refuses it in \`NODE_OPTIONS\`. Measured interleaved, two processes a setting:
- API at 256 clients: 266–295 against 377–402 µs a request in one run, 395–415 against 449–503 in a busier one;
  mark-compacts 3–12 against 9–22 in a round (at 64 and 256 clients);
- mailer (\`BENCH_ONLY=mailer-ab\`, 4 rounds, three runs): 5 mark-compacts instead of 10 for 4,000 emails, and 1,319
  against 1,380 µs of CPU an email, lower in 3 of 4 rounds (the third run, which measured it). Its bulk rate moved
  +18 % (432 against 366/s, higher in every round), −5 % (577 against 605/s, on a busier host) and +1 %: within the
  host's spread. G5's p99 at 100/s: 125 against 112 ms, 47 against 93 ms, 43 against 42 ms (medians);
- the API's peak RSS rose by 5–14 MB. A factor of 1.4 was not clearly better than none.

**Waiting for a core (2026-12-03).** \`bench/ab.mjs\` now also reads the API's main thread from the scheduler's side
(\`/proc/<pid>/task/<pid>/schedstat\`): its time on a core, and its time runnable but waiting for one. In two runs that
day at 64 clients (2,500–5,000/s) the main thread ran 106–230 µs a request and waited 53–125 µs for a core: it was
runnable 80–90 % of the wall-clock time, and for 27–32 points of that it had no core. At 256 clients (3,500–4,700/s):
114–172 µs on a core and 59–79 µs waiting, runnable 76–87 % of the time. So the API's main thread is the bound it hits, and it gets about two
thirds of the core it could use: what it saves a request is rate, and what the brokers and Postgres take from the same
two cores is rate too. This also reads the CPU profiles: their writes (Kafka requests, Postgres statements, HTTP
responses, log lines: 23–27 % of the main thread's "busy" time) are largely this wait. A CPU profile counts wall-clock time
against the function on the stack when a sample is taken, and a system call that wakes a broker or Postgres is where
the thread is preempted for it. In one profiled run the main thread waited 6–7 s over the measured rounds, and the
profile put 9.4 s in those writes. Tried, for a host where every core is taken anyway: \`--single-threaded-gc\` (no GC
helper threads; \`bench/ab.mjs\`, two processes a setting, 4 interleaved rounds of 10 s): 143–165 against 170–177 µs of
CPU a request at 64 clients, 181–183 against 187–209 at 256, the rates within the rounds' spread (3,963 and 4,532
against 3,625 and 3,859/s at 64 clients; 3,981 and 4,130 against 4,337 and 4,131/s at 256), and a peak RSS of 155
against 144–146 MB. Not taken: over the API's RSS budget for a gain inside the spread, and its mark-compacts would
then mark on the main thread, with no concurrent marking to hide behind.
What survives the API's scavenges (V8's sampling heap profiler keeping only what no scavenge collected,
\`ALLOC_PROFILE_KEEP=promoted\` in \`bench/lib/alloc-profile.mjs\`, 8 s at 64 clients, 3,100–3,900/s): about 16 MB/s, some
4.5 KB a request, spread like the allocations themselves (node's HTTP objects and response headers, the parsed body,
zod's output, the envelope, kafkajs' request encoding) rather than held by one thing. A request is promoted when it
lives across two scavenges, about 30 ms apart at this rate, so it is the requests that wait for their produce that are
promoted: at 256 clients (55 ms at the median) the API ran 22–34 mark-compacts in a 10 s round even with the 1.6 factor.
Fewer promotions need shorter requests or fewer bytes a request, not a holder to release.

**The API alone (2026-12-03).** \`node bench/api-alone.mjs\` runs the API's real app with Kafka and Postgres replaced by
in-memory stand-ins that answer at the next turn, so only the API and the load generator share the cores. Its own work
(HTTP, auth, validation, the envelope, the access line, the metrics, their GC) cost 62–85 µs of CPU a request at
13,000–18,000/s over several runs that day; two copies of one build, interleaved, differed by 2.7 µs at the median.
Under the bench's load the same API used 126–291 µs a request: two thirds and more of it is the Kafka and Postgres
clients (encoding, system calls, replies), and the GC of requests that live as long as their produce. Its CPU profile
alone: GC 22 % (of which more under load, above), the access line 13 % (pino's serialization and the write), the
envelope's JSON 4 %, the body's JSON parse 2–3 %, the API key's SHA-256 2 %. Where the access line goes matters a
little: pino's default destination writes asynchronously, and to \`/dev/null\` (where this bench sends the services'
stdout) each line became a write of its own. With stdout a pipe that another process drains, as a container runtime
drains it, the API used 62–71 against 67–78 µs a request (3 interleaved rounds, in-memory stand-ins): this bench's
figures carry that 5–8 µs. Not changed in this run of the bench.

**The claim's recipients (2026-12-04).** Per-recipient delivery (2026-12-03) made the claim statement also read the
recipients an earlier attempt settled, skipped by a \`CASE\` on a first attempt. \`bench/ledger-path.mjs\` (first
attempts, two emails a statement, 3 rounds of 4,000 emails), the build before it and this one alternated, two runs
each: Postgres 748 and 768 µs of CPU an email before, 763 and 783 µs after (medians; the rounds of one run spread
558–953 µs as the ledger grows), WAL 3,785–3,793 bytes an email in all four: no cost the bench can see.

**One broker a send (2026-12-04, evening).** Until then the API placed each record by its key (the email id), as
kafkajs' default partitioner does, so a send of 45–48 emails (the batcher's size at 64 and 256 clients) was a request to
each of the three brokers, carrying a record batch for each of the twelve partitions, three or four records each. A
send now goes to one broker, its records spread over the partitions that broker leads, and the next send to the next
broker (\`services/api/src/send-placement.ts\`). \`bench/ab.mjs\` against a build of the commit before (2234deb), 4
interleaved rounds of 10 s: 4,737 against 3,858/s at 64 clients (p99 27 against 33 ms), 4,567 against 3,914/s at 256
(p99 231 against 263 ms), higher in every one of the 8 pairs of rounds; 158 against 179 and 208 against 228 µs of the
API's CPU a request; the main thread waited 29 against 62 µs a request for a core, and a send took 6.5 against 8.5 ms.
The saving is the requests, not the record batches: one partition a send (one batch) measured the same as one broker
a send (4,375 and 4,373/s against 4,518–4,577 and 4,241–4,345/s, one run of 4 rounds, the three settings
interleaved), and one broker a send keeps a batch request's emails on four partitions rather than one (one partition
is one mailer's, four sends at a time). Nothing needed an email's records in one partition: the ledger dedupes by
id, and the API now records each email's partition in its row for the stuck-email audit, which computed it from the
id until then.

**A record batch without joins (2026-12-04, evening).** kafkajs still joined a record batch twice (its CRC-32C over the
joined body, then the batch as length-prefixed bytes), two of the three 4 MB copies left after the encoder patch. A
fourth patch (\`scripts/kafkajs-record-batch-patch.mjs\`) computes the CRC over the body's pieces in turn and writes the
batch as its length and its pieces: a 4 MB email's produce request joins 4.2 MB instead of 12.6 MB, and the batch
step took 0.8 against 1.5 ms (interleaved in one process, 180 each). Run alone in a process each, the whole encoding
took the same time (4.2–5.0 ms): the freed copies let glibc hand memory back, and the next 4 MB allocation faults its
pages in again (213,000 against 81,000–97,000 minor faults over 400 encodings; with glibc's trimming off, 3.4 against
4.3 ms). The hostile rows moved within their spread (the 4 MB text 26.8–30.8 against 29.6–32.7 ms, two runs each):
their worst block is the turn that parses the body plus a collection (its own work about 9 ms: fastify's join and
decode 4.5 ms, JSON.parse 3.8 ms; V8's mark-compacts of that run paused 8–9 ms, and their incremental steps up to 12 ms).

**Going around a slow broker (2026-12-07).** The API now frees its producer for the next send when a send has not
been acknowledged after 1 s, avoids that broker while the send lasts, and keeps each partition out of a second send
(README, "A broker the API cannot reach"); every Kafka client starts from a broker picked at random. A send under
this bench's load ends in about 11 ms, so the path measured is the one before: one send in flight, one broker a send.
\`bench/ab.mjs\` against a build of the commit before (35821b4), 4 interleaved rounds of 10 s: 2,352 against 2,201/s
at 64 clients (348 against 373 µs of the API's CPU a request), 2,917 against 2,733/s at 256 (335 against 351 µs),
38.6 against 38.0 records a send, peak RSS 143 MB: no cost the rounds can show.

**Hostile requests (2026-12-04).** The hostile rows of every full run before 2026-12-04 06:32 UTC under-read the
blocks. They were measured with fastify's \`inject()\` in the bench's own process and \`monitorEventLoopDelay()\`
enabled for each request; the histogram records no delay at its first tick, and \`inject()\` hands over a request
whole, so a request handled in the turn that enabled the histogram blocked unseen (1–3 samples a window). Timed with
fastify's own hooks, a batch of 100 emails of 50 long quoted recipients (1.5 MB; the row's name said 3.5 MB until now) spent 20–50 ms in its validation
alone, in one piece. The bench now sends each request over a socket from a client process of its own
(\`bench/lib/hostile-client.mjs\`; undici, and curl in a check run, agree) and reads the longest gap between the ticks
of a 1 ms timer that runs throughout. So measured on 2026-12-04 (an idle host, 10 runs each), the build of 2026-12-03
08:20 blocked 14.5 ms (\`to\`), 60.2 and 54.3 ms (the two batches: over the target), 30.7 ms (headers) and 16.3 ms (the
4 MB text). Two changes since: a batch's emails are validated one at a time, and the event loop runs whenever 5 ms of
that work is done (\`mapInTurns\` and \`validateInTurns\`, \`services/api/src/validation.ts\`, on \`/v1/emails/batch\` and
\`/resend/emails/batch\`): 16.6 and 19.0 ms; and templates render on threads of their own: the new row, a send whose
template runs to its render limit, blocked 137–138 ms before and 4.6–10.5 ms after. What is left in the 15–21 ms of
the other rows: parsing the body's JSON (about 3 ms for the 1.5 MB batch, with secure-json-parse's scan for \`__proto__\`), and
the garbage collector, the largest share of the API thread's time in a CPU profile of the run.
The full run of 2026-12-04 06:32 UTC, the first over a socket, read the two batches at 23.9 and 48.7 ms. Repeated
alone right after (\`npm run bench:hostile\`, three runs of 10 each), the same rows read 17.0–52.4 ms, the highest
in a different row each time. What moves them is the garbage collector: with \`--trace-gc\` the bench's API process
(the API's 128 MB heap) ran mark-compacts of 20–39 ms while these requests were handled, at 75–105 MB of heap. A row
that lands one in its window reads about 30 ms more. So the batches sit at the target, not safely under it.

Two shapes JSON.parse itself is slow on were added on 2026-12-04: one object of 200,000 keys (2.4 MB) and 500,000
nested arrays (1 MB). They blocked 158 and 147 ms; the body's nesting and each object's keys are now counted in one
pass over its text before it is parsed (\`services/api/src/json-shape.ts\`: at most 64 levels and 10,000 keys an
object, else 400 \`EMAIL_ERR_JSON_TOO_COMPLEX\`): 10.5 and 3.5 ms.

Hostile SMTP submissions are in the bench since 2026-12-04 too (the last rows of a run; a message under
\`SUBMISSION_MAX_BYTES\`, submitted 10 times from the client process with nodemailer). mailparser parsed on the event
loop: 204 ms for 4.8 MB of quoted-printable text with soft line breaks, 157 ms for iso-2022-jp text, 96 ms for
format=flowed text, 34 ms for 4.2 MB of HTML: three over the target. Parsing on a thread of its own, as templates
render, was built and measured the same day and not kept: 17–28 ms for the same four, but the process's peak RSS
over three rounds of the four messages was 270–298 MB against 213 MB on the event loop (the thread's isolate, and
copies of the message and its parts on both sides; \`MALLOC_ARENA_MAX=2\`, 25 MB of the difference, a 48 MB heap
cap on the thread none), against a Kubernetes limit of 384 MiB with 272 MB measured under large HTTP bodies alone;
measured again on 2026-12-04, 280–304 MB against 223–230 MB. What was built instead is the streaming parse: a pass
before mailparser (\`services/api/src/submission/streaming-parts.ts\`, with mailsplit) decodes, a piece at a time, the
steps mailparser's libraries take in one piece at a part's end, where the profiles put the time: libqp's stream keeps a
quoted-printable part and decodes it at its end with two regular expressions over all of it; libmime keeps an
ISO-2022-JP or EUC-JP part for encoding-japanese, which has no incremental decoder; mailsplit's FlowedDecoder unwraps
format=flowed at the end. The part reaches mailparser as base64 of its decoded bytes. Alone, on the API's heap,
the four messages then blocked 2–11, 44–73, 7–9 and 2–23 ms, against 91–132, 99–117, 42–55 and 1–15 ms before
(three to five parses each, by a 1 ms ticker). Left in one piece was mailparser's own last step, a part's text made one string with its CRLFs read as
LF by one regular expression: 46–62 ms for the 2.4 million characters and 200,000 lines of the iso-2022-jp message.
That step's work and garbage grow with the lines: 1.6 million of them (a 4.8 MB message
of empty lines) took 103 MB of heap and 290 ms, three such messages at once ended the API (exit 134), and one 10 MB
report of empty lines ended the bounce listener, which anyone can reach. So a message's text may have at most 200,000
lines (550 5.6.0 past that; a report past it is kept as malformed); two rows for the shapes that found this were
added: 4.8 MB of "=" on one quoted-printable line (libqp's decode() run on pieces cannot split a run of "=", so
the pass decodes quoted-printable with a state machine of its own, byte for byte what libqp's decode() gives), and
1.6 million empty lines, refused. A third, 999 parts of one line each (mailsplit takes at most 1,000 parts), found a
cost of the pass itself: mailparser's input stage copies what it holds with every write until it holds 64 KiB, and
the pass wrote it a line or a header at a time, 42–48 ms against 7–18 ms for the message in one piece; it now writes
16 KiB at a time and splits the message in pieces of 4 KiB (18 ms; 64 KiB writes held the loop longer). A fourth,
a \`To\` of 3,800 quoted addresses (99 KB), stands for the header block: mailsplit allowed 1 MiB of it, and mailparser
parses a block's addresses in one turn, 164 ms for 30,000 of them (780 KB); a block now holds at most 100 KiB
(postfix's \`header_size_limit\`), 24–42 ms at the limit. One HTML-only message of 4.2 MB had
killed the API before 2026-12-04: mailparser derived a text part with html-to-text, past the 128 MB heap; it no
longer derives one.
The last step went too (later on 2026-12-04): any text of 200,000 lines held the loop 50–88 ms there, in ASCII,
UTF-8, GBK, Big5 or ISO-2022-JP alike (rows for ASCII and GBK were added; on a slower host the hostile bench read
198.8 ms for iso-2022-jp, 162.7 for ASCII, 161.2 for GBK). The pass now makes each text part's text itself, a piece
at a time (\`services/api/src/submission/text-assembly.ts\`: the charset through libmime's decode stream as in
mailparser, then UTF-8 to text in pieces of 16 KiB, CRLF read as LF), and mailparser is given a token in its place,
filled in after it: the parse alone blocked 1–6 ms for each of those messages. Two first tries held the loop at
the end: a string a line, joined (19 ms), and pieces of 16 KiB whose line breaks \`replaceAll\` replaced, which made
each piece a rope of its lines for the join to flatten (15–19 ms); the pieces now go through \`split\`/\`join\`. A third row found libmime's own
one-piece step: its double-byte decoder waits for a byte below 0x30 to cut at, and 4.8 MB of GBK without one
(base64 carries it) was decoded whole at the end, 75–119 ms; a run held past 64 KiB is now refused (550 5.6.0).
In the run of 11:13 UTC that day, on a host about half as fast throughout (the hello-world 36,086 against 81,389/s),
every SMTP row but one read 14–41 ms; the \`To\` of 3,800 addresses read 63.9 ms (41.6 at 09:12). Its time is
mailparser's address parser and the text and HTML it builds for each address; the first of a row's ten submissions
compiles that path, and once compiled the same message blocked 22–26 ms on that host. What that row did not show is
the CPU: mailparser parses the address headers of every part, and 50 parts with that \`To\` each (4.9 MB) took
1.5–1.9 s of CPU, each block in a turn of its own (39–65 ms), where 50 headers of as many bytes of other text took
0.3–0.55 s. A message's address headers now hold at most 32 KiB in all its parts together, about
1,250 addresses (\`services/api/src/submission/address-headers.ts\`; 550 5.6.0 past it, before mailparser reads the
block): an email goes to at most 50 recipients, and Postmark and Resend refuse a message whose headers name more. The
3,800-address row is now refused, a row at the limit was added, and one for the 50 parts.
The hostile bench's own process held every hostile body until 11:52 UTC that day: built when its module loaded and
kept for the whole run, 33 MB of heap (and 16 MB outside it) that a real API never holds, under the same 128 MB cap.
V8's mark-compacts then took up to 66 ms (\`--trace-gc\`) in whichever rows they fell in. It now builds them only to take
their names and sizes, and lets them go; the longest mark-compact of a run fell to 35 ms, the SMTP rows from 20–66 to
3–37 ms (most 10–15), the HTTP rows moved within their spread. Every hostile figure before that run read high by the
pauses those bodies caused.
Until 15:17 UTC that day the bench's stand-ins for the produce and the rows' statement also resolved at once, so a
request's whole path after the produce (the answer included) ran in the turn that parsed its body, where Kafka's and
Postgres' answers come in later turns. They now answer a turn later. The 4 MB text's row, the one nearest the target
on this host (30–55 ms across the day's runs), read 35.3 and 55.2 ms in two runs before and 39.3, 31.7 and 35 ms in
three after: inside its spread. Its block is the body's own work: parsing 4 MB of JSON and serialising the envelope
took 4–10 and 5–7 ms each, timed alone on this host, beside assembling the body from its chunks and the GC they cause.
Three rows were added at 17:48 UTC that day, and the stand-in for the produce changed. A body of 1.3 million empty
objects (4 MB) held the loop 724 ms, empty lists 414 ms, a million one-letter strings 100 ms: the pass before
JSON.parse bounded nesting and each object's keys, not the values in all. It now counts every array element and
object member, at most 50,000 a body (400 \`EMAIL_ERR_JSON_TOO_COMPLEX\`; the largest request the schemas allow holds
about 25,000; 25,000, 50,000, 100,000 and 200,000 empty objects had blocked 7, 11, 21 and 86 ms): 18–34 ms since, the
reading of the body. Template variables at the bound (50,000 empty objects) blocked 40.5 ms, most of it \`postMessage\`
cloning them to the template thread (\`structuredClone\` of them took 17–40 ms alone); a render's emails now cross as
JSON text (2–3 ms to write): 24.7–34.9 ms. And the stand-in for the produce resolved without encoding anything, while
kafkajs encodes each record and each record batch on the event loop, the batch's CRC-32C in JavaScript: 22–25 ms for
one 4 MB record, 11–16 of them the CRC. The stand-in now encodes the records as kafkajs does (its request framing and
the socket write are still left out). With kafkajs' JavaScript CRC the 4 MB text read 64.1 ms and the 1.5 MB batch
53.4 ms. kafkajs now gets the CRC from \`@node-rs/crc32\`, native code (\`scripts/patch-kafkajs.mjs\`; the same number,
about 1 ms for 4 MB): the 4 MB text read 43.7–59.4 ms across five runs (54.8 in that day's 17:48 report), the batch 26–34.5 ms,
and the accepted 4–5 MB SMTP messages 16–46 ms (12–38 before their produce was counted; the line of "=" 52.4 ms in
that run and 34 ms in the next). What is left for a 4 MB email is copying it: the body's string, the parsed
text, the envelope's JSON, the record and the batch, 4 MB each, and the GC on a 128 MB heap. The largest emails then sat
at the target on this host, not under it.
At 19:56 UTC that day the stand-in encodes and frames the whole produce request, as kafkajs' connection writes it,
not only its batch: with kafkajs' own \`Encoder\` the 4 MB text then read 62–67 ms and the accepted SMTP messages
50–71 ms. A produce request nests each record eight levels deep (batch body, batch, its bytes, partition, topic,
request, frame), and each level copied the record into a fresh zero-filled buffer of the next power of two: eight 4 MB
copies and about 64 MB of buffers for one email, which also drove V8's collections (288–433 ms of GC for 15 such
requests in CPU profiles of the API). \`scripts/kafkajs-encoder-patch.mjs\` makes the \`Encoder\` hold a piece of
64 KiB or more by reference and join the pieces once, where kafkajs asks for a single buffer (the batch's CRC, its
length-prefixed bytes, the socket write): 178–234 ms of GC for the same 15, the 4 MB text at 39.1–60.1 ms across six
runs (42.6 in that day's 19:56 report), the SMTP messages at most 43 ms; a small email's produce encodes as fast as before
(26–41 against 30–49 µs a request, timed alone). A row was added for the same 4 MB body with an Idempotency-Key: its
request hash (SHA-256 of the body's canonical JSON) built the whole text before hashing it, 15–20 ms; it is now fed to
the hash as it is written, the same bytes, 12 ms. And the bench's ledger answered at once, so a key's reservation ran
in the turn that parsed the body; it now answers a turn later, as Postgres does. That row read 48.2–63.9 ms across
three runs (52.3 in that day's 19:56 report): what was left was the body's own work, reading, parsing and hashing
4 MB of JSON in one turn, with the GC it causes.
At 20:32 UTC that day two more changes split that work across turns. The request hash escapes and hashes a text of
64 Ki characters or more 1,048,576 characters at a time, each slice in a turn of its own (a slice never ends inside a
surrogate pair, so the bytes are the first version's, which the ledger's rows were made with): the row with a key read
25.6–35.2 ms across three runs. And a large email (256 Ki characters of text, html and attachments or more) has its
envelope written in a turn after the one that read, parsed and validated its body, a batch's envelopes 5 ms of work a
turn (\`mapInTurns\`): the 4 MB text read 27.9–33.7 ms across three runs, against 39.1–60.1 before, and the accepted
4–5 MB SMTP messages 14–30 ms. Every hostile row of that day's 20:32 report is under the target. The bench's stand-in still
encodes the produce request in the turn that writes the envelope, where the API's batcher waits
\`PRODUCE_LINGER_MS\` (2 ms by default) and encodes in a later turn: under load a full batch is sent in the turn that
filled it, and the bench keeps that worst case. An A/B of the API under load against the build before the day's three
changes (\`bench/ab.mjs\`, 4 interleaved rounds) read 2,834 against 2,637/s at 64 clients and 2,942 against 2,957/s at
256, with 241–305 against 280–311 µs of CPU a request: no cost on the ordinary path.
At 23:32 UTC that day: each of the API's sends goes to one broker, over the partitions it leads, not
to every broker by its records' keys (see "One broker a send" above), and kafkajs computes a record batch's CRC over
its pieces. G1 read 0.32 and 0.37 (0.23 and 0.28 at 20:32), G2 0.30 (0.20), and G3 held its target at 2,242/s
(1,205/s at 20:32). The host was faster too (the fastify hello-world at 67,459 against 40,253/s), so the A/B, which
runs both builds on one stack in turn, is the measure of the change: 4,737 against 3,858/s at 64 clients, 4,567
against 3,914/s at 256. The 4 MB text row read 33.8 ms, the accepted SMTP messages of 4–5 MB 12.5–26.8 ms.
On 2026-12-05, 13:36 UTC, the first full run after the ledger's row limits were written into its
statements (\`sqlLimit\`) and the outbox relay's round kept to its index (README, "The statements every email runs"); the
API's request path is unchanged. G1 read 0.34 and 0.41 (0.32 and 0.37 at 23:32), G2 0.22 (0.30), G4 0.39 (0.41), and G3
held its target at 1,872/s. This host (an AMD EPYC; 23:32 ran on an Intel Xeon) was slower for Node and faster for Kafka: the fastify hello-world at
40,606 against 67,459/s, the BullMQ peer at 10,714 against 12,673/s (64 clients), ProducerPerformance at 16,892
against 14,875/s, raw nodemailer at 1,810 against 1,624/s. G5 missed at 50/s this time (p99 104 ms; 7.6 ms at 23:32)
with a p50 of 2.1 ms: one short window on a shared host (see G5 above). Every hostile row held: HTTP 3.5–27.8 ms,
SMTP submission 4.2–23.2 ms.
On 2026-12-07, 13:51 UTC (this report), the first full run with the list's index (\`emails_account_created_idx\`,
written by every email's insert and state changes) and the consumer's mends for a broker that stops answering (not on
this path). On a slower host (the fastify hello-world at 22,232 against 40,606/s, the BullMQ peer at 5,996 against
10,714/s at 64 clients, ProducerPerformance at 12,177 against 16,892/s, raw nodemailer at 1,062 against 1,810/s): G1
0.40 and 0.48, G2 0.21, G4 0.43 (0.39), G5 at half of G4 (229/s) p99 1.0 s; G3 held at 1,276/s, peak RSS 143 and
149 MB, every hostile row held (HTTP up to 33.1 ms). The index's WAL does not show beside the host's own swing: the
mailer's rounds spread from 142 to 503/s.
On 2026-12-06, on an Intel Xeon host, \`npm run bench:hostile\` read the 4 MB text at 40–59 ms in three runs: over
the target. Its work was split into turns, but each pause was one \`setImmediate\`, and the first one is taken where
the body ends, in an I/O callback: an immediate set there runs in the same iteration of the event loop, before its
timers and before libuv polls for I/O again (Node's loop order; a test replays it), so the body's parse and the
envelope's JSON held the loop as one block. A pause is now two immediates, the second always after the next poll
(\`services/api/src/next-turn.ts\`; the envelope's turn, a batch's validation and the long text's hash). The two builds
alternated, three runs each: the 4 MB text 46.1, 49.4 and 44.8 ms before, 42, 30.8 and 32.4 ms after; the worst row
of a run 44.8–49.4 ms before and 31.6–42 ms after. Then a body of 256 Ki characters or more was parsed in a turn after
the one that joined and decoded it (for 4 MB, timed alone on that host: 4.4–8 ms to join and decode, 7–16 ms for
fastify's JSON.parse, 0.3–0.6 ms for the shape's scan): six runs of each build alternated, the 4 MB text 22–50.1 ms
(median 34) before and 17–68.8 ms (median 27.5) after, the worst row of a run 29.9–72.9 against 35.8–110.7 ms, the
host's steal time visible in the runs (up to 1.1 s of a vCPU in one): within the spread, and kept because it bounds
each turn by construction (\`services/api/src/json-shape.ts\`).

**Peak RSS.** Measured as VmHWM after the G1–G3 rounds (API, ${r.settings.CONNECTIONS} concurrent clients) and after
G4–G5 (mailer): API ${f(r.rss.apiMb)} MB, mailer ${f(r.rss.mailerMb)} MB, with the heap settings every service now
runs with (\`packages/stack/src/node-options.ts\`; the images' \`NODE_OPTIONS\` and \`CMD\`, \`npm start\`, the tests, this bench).
Before them (same day): API 247 MB, mailer 223 MB. The peak was not retained data: a heap snapshot of the API after
the load holds 31 MB, and the rest was V8 letting its 16 MB semi-spaces and its old generation grow lazily under
short-lived garbage (request bodies, envelopes, kafkajs' encode buffers). Measured with \`bench/ab.mjs\` (API, two
rounds each, interleaved): \`--max-old-space-size=96\` 154 MB at the same rate, \`--max-semi-space-size=8
--max-old-space-size=128\` 140 MB at the same rate, a 1 MB semi-space 132 MB but a fifth slower, the semi-space alone
no change. The cap is a hard limit, so the API now bounds the request bodies it holds at once
(\`BODY_BYTES_IN_FLIGHT\`, 24 MiB): 40 concurrent 3.9 MB requests against the capped API were all accepted (heap peak
95 MB) and crashed it without that bound. The mailer's cap is 256 MB: 24 emails of 3.9 MB in flight peak at 100 MB
of heap. Mailer-only runs back to back (3 rounds): with the settings 431/s median and 132 MB, with V8's defaults
385/s and 229 MB: no throughput lost. The API's peak was 144–147 MB in the six full runs from 2026-11-30, 21:39 to
2026-12-01, 22:59 UTC, and 150.1 MB in that of 2026-12-02 (the same API and settings): at the edge of its budget. A 4 MB semi-space instead of 8, interleaved on
2026-12-02 (\`bench/ab.mjs\`, 4 rounds of 10 s at 64 and at 256 clients): peak RSS 131 against 146 MB, the same rate
at 64 clients (1,855 against 1,815/s) and 11 % less at 256 (1,801 against 2,033/s, lower in each of the 4 rounds).
Not taken: the 8 MB setting stays, and its margin is named here rather than bought with a tenth of the rate. Fewer
glibc malloc arenas (\`MALLOC_ARENA_MAX=2\`, 3 interleaved rounds the same day) peaked at 141 against 143 MB: not
where the memory is.
What was: the API imported SMTP submission's MIME parser (\`mailparser\`, with the charset tables it builds) at
boot. Loaded with the first submitted message instead (an HTTP-only load never loads it): 100 MB idle and 133 MB at
peak against 118 and 154 MB (\`bench/ab.mjs\`, 3 interleaved rounds at 64 and 256 clients, rates within the spread),
and 141 MB in the full run of 02:45.
The same for the template engine (liquidjs), on 2026-12-02: loaded with the first template created, previewed or sent
instead of at boot, the API imported 40–42 MB of RSS against 52–57 MB (after a GC, 3 imports each), and under the
bench's load (\`bench/ab.mjs\`, the two builds as two processes each, 2 interleaved rounds at 64 and 256 clients) it
started at 93–96 MB against 104–106 MB and peaked at 126 and 136 MB against 140 and 145 MB.
Under a mixed load that loads both (\`npm run bench:soak\`, 40 minutes at 50 operations/s on 2026-12-05: sends, SMTP
submissions, templates, status reads, webhooks) the API's resident set was 158.5 MB at minute 3 and 167.1 MB at minute
38, peak 168.8 MB: over its budget. V8's own heap-growth factor instead of 1.6 (6 minutes of the same load) peaked at
150 MB within those minutes, for about a fifth more of the API's CPU (README, "Benchmarks", the soak's figures).
The rest of the rise since 2026-12-02 is the template thread (2026-12-04), which the soak keeps busy: 18–25 MB of RSS
after 400 renders and 35–44 MB after 3,000 (the API's flags, measured alone), where liquidjs on the API's thread cost
10–14 MB. Its young generation grew to the process's 8 MB semi-spaces: V8 applies the process's heap flags over a
thread's own \`resourceLimits\`, so the thread also had the API's 128 MB old generation instead of its 96 MB. The API
now clears those flags before its first thread (V8 reads them once per isolate; its own heap limit stays 152 MB, a
thread's is 99 MB with 1 MB semi-spaces, checked by \`services/api/test/fast/thread-heap.test.ts\`): the thread
alone holds 6 MB less after 3,000 small renders and peaks 18 MB lower over large ones, each render as fast, and 40
minutes of the soak (2026-12-05, 21:10 UTC; 136,651 emails, 0 lost, 0 duplicated) peaked at 161.3 against 165.9 MB.
Found on 2026-12-05: half of mailparser's load was \`html-to-text\`, which it calls only for a conversion the API turns
off. Deferred (a stand-in in Node's module cache, loaded on first use; mailparser's CommonJS build, so libmime once):
the parser alone keeps 4.4 against 5.8 MB of heap after its first message and takes 15 against 24–27 MB of RSS, but
under the soak's load the gain is the kept heap's: two 6-minute soaks back to back peaked at 154.9 against 156.6 MB,
and 40 minutes peaked at 165.9 against 168.8 MB.
`;
}
