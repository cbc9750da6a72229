#!/usr/bin/env node
// `node bench/api-alone.mjs [<another checkout's root> …]`: the API's own CPU a request, with Kafka
// and Postgres replaced by in-memory stand-ins (bench/lib/api-alone-server.mjs). Under the full
// bench's load that figure moves with the brokers and Postgres on the same cores; here only the
// API and the load generator run, so a change of a few µs a request shows. Each root is a build
// (`npm ci && npx tsc -b` in a clone of another commit), run with the API's heap settings, the
// builds interleaved round by round (BENCH_ROUNDS, BENCH_SECONDS, 64 clients). Each round starts
// a fresh process of each build and warms it up first: one process of a build measured 151–178 µs
// a request in every round, and another process of the same build 99–108 µs (2026-12-03), so a
// process kept for all rounds measured its own luck, not the build.
import { join } from 'node:path';
import { serviceNodeArgs } from '../packages/stack/dist/index.js';
import { freePort, load, startProcess, statCpuMs, stopProcess, summary } from './lib/measure.mjs';
import { apiEnv, BODY, KEY } from './lib/workload.mjs';

const here = join(import.meta.dirname, '..');
const roots = [here, ...process.argv.slice(2)];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const say = (line) => process.stderr.write(`[api-alone] ${line}\n`);

const apis = roots.map((root) => ({ root, cpu: [], rate: [] }));
/** A fresh process of `root`'s build: the bench's API environment, without Kafka, Postgres or SMTP submission. */
async function start(root) {
  const port = await freePort();
  const env = { ...apiEnv({}, {}, port), SUBMISSION_PORT: 'off', API_ROOT: root };
  const url = `http://127.0.0.1:${port}`;
  const child = await startProcess(join(here, 'bench/lib/api-alone-server.mjs'), env, `${url}/readyz`, serviceNodeArgs('api').join(' '));
  return { url, child };
}
const post = (url) =>
  load({
    url: `${url}/v1/emails`,
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: BODY,
    connections: 64,
    duration: SECONDS,
  });
let running = null;
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const a of [...apis.slice(r % apis.length), ...apis.slice(0, r % apis.length)]) {
      running = await start(a.root);
      await post(running.url); // JIT warm-up
      const cpu0 = statCpuMs(`/proc/${running.child.pid}/stat`);
      const m = await post(running.url);
      if (m.errors > 0) throw new Error(`${a.root}: ${m.errors} requests failed or were not answered 2xx`);
      a.cpu.push((1000 * (statCpuMs(`/proc/${running.child.pid}/stat`) - cpu0)) / m.ok);
      a.rate.push(m.rps);
      await stopProcess(running.child);
      running = null;
      say(`${a.root} round ${r + 1}: ${m.rps.toFixed(0)}/s, ${a.cpu.at(-1).toFixed(1)} us of CPU a request`);
    }
  }
  for (const a of apis) {
    const cpu = summary(a.cpu);
    say(
      `RESULT ${a.root}: ${cpu.median.toFixed(1)} us of CPU a request (${cpu.min.toFixed(1)}–${cpu.max.toFixed(1)}), median ${summary(a.rate).median.toFixed(0)}/s`,
    );
  }
} finally {
  if (running) await stopProcess(running.child);
}
