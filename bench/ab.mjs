#!/usr/bin/env node
// `node bench/ab.mjs '<json array of API env variants>'`: the API under each variant of its
// settings, interleaved round by round on one private stack (BENCH_ROUNDS, BENCH_SECONDS,
// BENCH_CONNECTIONS as in run.mjs). For measuring a change before it goes into the defaults.
// BENCH_RATE=N offers N requests/s in every round instead of as many as the clients manage:
// G3's load, for the latency at a rate rather than the maximum.
// A variant's ENTRY (not passed to the API) starts another build's server.js, e.g. a clone of the
// commit before a change: code against code, on the same stack. A variant's NODE_ARGS (not passed
// either) are node arguments for that API alone, e.g. a V8 heap flag. Each round also reports the
// API's CPU a request (from /proc), which moves less with the host than the rate does, its main
// thread's time on a core and runnable but waiting for one (schedstat), and its GC:
// scavenges' time a request, the round's mark-compacts, V8's new space at the end of the round.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka, createLogger, ensureTopics } from '../packages/runtime/dist/index.js';
import { startStack } from '../packages/stack/dist/index.js';
import { warmUntilJitQuiet } from './lib/jit-warmup.mjs';
import {
  freePort,
  gcNow,
  load,
  mainThreadSchedUs,
  peakRssMb,
  scrape,
  sleep,
  startProcess,
  statCpuMs,
  stopProcess,
  summary,
} from './lib/measure.mjs';
import { openLoop } from './lib/open-loop.mjs';
import { apiEnv, BODY, KEY, topicLayout } from './lib/workload.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const variants = JSON.parse(process.argv[2] ?? '[{}]');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '64,256').split(',').map(Number);
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const say = (line) => process.stderr.write(`[ab] ${line}\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'postline-ab-'));
chmodSync(dataDir, 0o755);
const stack = await startStack({ dataDir, kafkaPort: 9192, postgresPort: await freePort(), inbox: false, env: {}, progress: say });
const topics = { EMAILS_TOPIC: 'ab.emails', RETRY_TOPIC: 'ab.retry', DEAD_LETTER_TOPIC: 'ab.dlq', EVENTS_TOPIC: 'ab.events' };
const kafka = createKafka({
  brokers: stack.env.KAFKA_BROKERS.split(','),
  clientId: 'ab',
  logger: createLogger({ name: 'ab', level: 'silent' }),
});
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, topicLayout(topics));
await admin.disconnect();
await sleep(1_000);
const apis = [];
/** An API under `extra` (its ENTRY, if any, is another build's server.js). */
async function startApi(extra) {
  const port = await freePort();
  const { ENTRY, NODE_ARGS, ...rest } = extra;
  const env = { ...apiEnv(stack.env, topics, port), ...rest };
  const url = `http://127.0.0.1:${port}`;
  const entry = ENTRY ?? join(root, 'services/api/dist/server.js');
  return { extra, url, child: await startProcess(entry, env, `${url}/readyz`, NODE_ARGS), runs: {} };
}
const auth = { authorization: `Bearer ${KEY}` };
const metrics = (a) => scrape(`${a.url}/metrics`, 'postline_api_', auth);
const gcOf = (a) => gcNow(`${a.url}/metrics`, 'postline_api_', auth);
try {
  const post = (url, connections, duration, rate) =>
    (rate ? openLoop : load)({
      rate,
      url: `${url}/v1/emails`,
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: BODY,
      connections,
      duration,
    });
  // The brokers' warm-up goes through an API of its own, stopped before the variants start. An API
  // that took the cold brokers' first rounds stayed slow for the whole run, whichever build it was:
  // all of the warm-up, 40-65 us a request (3 runs on 2026-12-02); only its first round, as the
  // variant started first got when the warm-up was spread in turn, 225 against 130-135 us a request
  // for four copies of one build, in every round and whatever its place in the round (2026-12-03).
  // Not the whole cause: with this, one run had three copies at 132-138 us, the next had the API
  // started first at 244 against 152-179 us. The rest was V8's heap growth (a mark-compact every
  // 0.5-1 s; --heap-growing-percent=60 since 2026-12-03): on 2026-12-05 three copies ran at 210-231
  // us a request. Rounds still spread by a fifth: read a variant against a copy of itself.
  const warm = await startApi({});
  await warmUntilJitQuiet({ pids: stack.kafka.nodes.map((n) => n.pid), load: () => post(warm.url, 64, SECONDS), say });
  await stopProcess(warm.child);
  for (const extra of variants) apis.push(await startApi(extra));
  for (const a of apis) say(`${JSON.stringify(a.extra)} ready: RSS ${peakRssMb(a.child.pid)?.toFixed(0)} MB before any load`);
  for (const a of apis) await post(a.url, 64, SECONDS);
  for (const c of CONNECTIONS) {
    for (let r = 0; r < ROUNDS; r++) {
      // Each round starts with the next variant: no variant always runs right after the warm-up
      // or after the same neighbour.
      for (const a of [...apis.slice(r % apis.length), ...apis.slice(0, r % apis.length)]) {
        const gc0 = await gcOf(a);
        const cpu0 = statCpuMs(`/proc/${a.child.pid}/stat`);
        const sched0 = mainThreadSchedUs(a.child.pid);
        const m = await post(a.url, c, SECONDS, RATE);
        m.cpuPerReq = (1000 * (statCpuMs(`/proc/${a.child.pid}/stat`) - cpu0)) / m.ok;
        const sched = mainThreadSchedUs(a.child.pid);
        m.mainRunPerReq = (sched.run - sched0.run) / m.ok;
        m.mainWaitPerReq = (sched.wait - sched0.wait) / m.ok;
        const gc = await gcOf(a);
        m.scavengePerReq = (1e6 * (gc.scavengeSeconds - gc0.scavengeSeconds)) / m.ok;
        m.markCompacts = gc.markCompacts - gc0.markCompacts;
        a.runs[c] = [...(a.runs[c] ?? []), m];
        say(
          `${JSON.stringify(a.extra)} ${c} clients round ${r + 1}: ${m.rps.toFixed(0)}/s p50 ${m.p50} ms p99 ${m.p99} ms errors ${m.errors} cpu ${m.cpuPerReq.toFixed(0)} us/req (main thread ${m.mainRunPerReq.toFixed(0)} on a core, ${m.mainWaitPerReq.toFixed(0)} waiting for one), scavenges ${m.scavengePerReq.toFixed(0)} us/req, ${m.markCompacts} mark-compacts, new space ${gc.newSpaceMb.toFixed(1)} MB${RATE ? `, issued late by p99 ${m.issuedLateP99} ms, at most ${m.issuedLateMax} ms` : ''}`,
        );
      }
    }
  }
  for (const a of apis) {
    // Where a request's time goes: the produce (its batch's send) and the whole request.
    const value = await metrics(a);
    const sends = value('produce_duration_seconds_count');
    say(
      `METRICS ${JSON.stringify(a.extra)}: produce ${((1000 * value('produce_duration_seconds_sum')) / sends).toFixed(1)} ms a send, ${(value('produce_batch_records_sum') / value('produce_batch_records_count')).toFixed(1)} records a send, ${sends} sends`,
    );
    // Where the resident memory is, at the end: V8's heap (used / reserved) and off-heap buffers.
    const mb = (name) => (value(name) / 2 ** 20).toFixed(0);
    say(
      `MEMORY ${JSON.stringify(a.extra)}: heap used ${mb('nodejs_heap_size_used_bytes')} of ${mb('nodejs_heap_size_total_bytes')} MB, external ${mb('nodejs_external_memory_bytes')} MB, RSS now ${mb('process_resident_memory_bytes')} MB`,
    );
    const rss = peakRssMb(a.child.pid);
    for (const c of CONNECTIONS) {
      const s = summary(a.runs[c].map((m) => m.rps));
      const p99 = summary(a.runs[c].map((m) => m.p99));
      say(
        `RESULT ${JSON.stringify(a.extra)} ${c} clients: cpu ${summary(a.runs[c].map((m) => m.cpuPerReq)).median.toFixed(0)} us/req (${a.runs[c].map((m) => m.cpuPerReq.toFixed(0)).join(' ')}), main thread waiting for a core ${summary(a.runs[c].map((m) => m.mainWaitPerReq)).median.toFixed(0)} us/req, median ${s.median.toFixed(0)}/s (${s.min.toFixed(0)}–${s.max.toFixed(0)}), p99 ${p99.median} ms (${p99.min}–${p99.max}), peak RSS ${rss?.toFixed(0)} MB`,
      );
    }
  }
  // BENCH_HOLD_SECONDS: keep the loaded APIs up that long (say, to take a heap snapshot of one).
  if (process.env.BENCH_HOLD_SECONDS) {
    say(`holding ${apis.map((a) => a.child.pid).join(', ')} for ${process.env.BENCH_HOLD_SECONDS} s`);
    await sleep(1000 * Number(process.env.BENCH_HOLD_SECONDS));
  }
} finally {
  for (const a of apis) await stopProcess(a.child).catch(() => {});
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
