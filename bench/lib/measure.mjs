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

/** Starts `node <entry>` with env (and `args` before the entry); resolves once GET url answers 200. */
export async function startProcess(entry, env, readyUrl, args = []) {
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the services under load.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  // The heap settings the service runs with everywhere (packages/stack/src/node-options.ts), then BENCH_NODE_ARGS.
  const child = spawn(process.execPath, [...nodeArgsFor(entry), ...nodeArgs, ...args, entry], {
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
