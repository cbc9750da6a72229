// Small measuring tools for the benchmarks: processes, autocannon runs, statistics.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

import { nodeArgsFor } from '../../packages/stack/dist/index.js';

export { freePort } from '../../packages/stack/dist/index.js';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });

/**
 * CPU time (user + system) in ms from a /proc stat file: a process's (`/proc/<pid>/stat`) or one
 * thread's (`/proc/<pid>/task/<tid>/stat`). The name before the fields is in parentheses and may
 * hold spaces, so the fields start after the last ')'. Linux counts in clock ticks of 1/100 s (USER_HZ).
 */
export function statCpuMs(statPath) {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime
}

/**
 * A process's main thread from the scheduler's side (/proc/<pid>/task/<pid>/schedstat), in µs:
 * time on a CPU, and time runnable but waiting for one. On a host whose cores the brokers share,
 * the wait is how long the service was ready to work and did not get a core.
 */
export function mainThreadSchedUs(pid) {
  const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { run: run / 1000, wait: wait / 1000 };
}

/** A memory field of a live process's /proc status (VmHWM, VmRSS, …), in MB. */
function statusMb(pid, field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : null;
}

/** Peak resident set (VmHWM) of a live process, in MB. */
export const peakRssMb = (pid) => statusMb(pid, 'VmHWM');

/** Resident set now (VmRSS) of a live process, in MB. */
export const rssMb = (pid) => statusMb(pid, 'VmRSS');

/**
 * A Prometheus endpoint now: `value(name, labels)` is the first series `<prefix><name>` whose labels
 * contain `labels` (NaN when there is none).
 */
export async function scrape(url, prefix, headers = {}) {
  const lines = (await (await fetch(url, { headers })).text()).split('\n');
  return (name, labels = '') => {
    const line = lines.find((l) => new RegExp(`^${prefix}${name}[ {]`).test(l) && l.includes(labels));
    return Number(line?.split(' ').at(-1) ?? Number.NaN);
  };
}

/** V8's GC so far, from a service's default metrics: scavenges' seconds, mark-compacts, new space in MB. */
export async function gcNow(url, prefix, headers = {}) {
  const value = await scrape(url, prefix, headers);
  return {
    scavengeSeconds: value('nodejs_gc_duration_seconds_sum', 'kind="minor"'),
    markCompacts: value('nodejs_gc_duration_seconds_count', 'kind="major"'),
    newSpaceMb: value('nodejs_heap_space_size_total_bytes', 'space="new"') / 2 ** 20,
  };
}

/** Node arguments written as one string ("--a --b=1"), as BENCH_NODE_ARGS and a variant's NODE_ARGS are. */
const splitArgs = (line) => line?.split(' ').filter(Boolean) ?? [];

/**
 * Starts `node <entry>` with env (and `nodeArgs`, one string, before the entry); resolves once GET
 * url answers 200.
 */
export async function startProcess(entry, env, readyUrl, nodeArgs = '') {
  // The heap settings the service runs with everywhere (packages/stack/src/node-options.ts), then
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the services under load),
  // then this process's own.
  const args = [...nodeArgsFor(entry), ...splitArgs(process.env.BENCH_NODE_ARGS), ...splitArgs(nodeArgs), entry];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c) => (err = (err + c).slice(-4000)));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${entry} exited: ${err}`);
    if (
      await fetch(readyUrl).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    await sleep(100);
  }
  throw new Error(`${entry} not ready: ${err}`);
}

export async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(t);
}

/** One autocannon run, as fast as the clients go (closed loop; a fixed rate is `openLoop`'s). */
export async function load({ url, method = 'GET', headers = {}, body, connections, duration }) {
  const result = await autocannon({
    url,
    method,
    headers,
    body,
    connections,
    duration,
  });
  return {
    rps: result.requests.average,
    ok: result['2xx'],
    errors: result.errors + result.timeouts + result.non2xx,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
  };
}
