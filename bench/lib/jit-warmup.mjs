// The brokers are fresh JVMs. For their first minute or more under load, their JIT compilers take a
// large share of the two cores: measured per thread from /proc on 2026-12-01, the compiler threads
// used 39 % of a core 30 s into an API load and 14 % after 60 s, against 34 % for the request
// handlers. A broker in production finished that long ago, so before any measured round the bench
// loads the brokers until their compilers are quiet here too, and says how long that took.
import { readdirSync, readFileSync } from 'node:fs';
import { statCpuMs } from './measure.mjs';

// HotSpot names its compiler threads "C1 CompilerThre…" and "C2 CompilerThre…" (comm is 15 characters).
const COMPILER = /^C\d CompilerThre/;

/** CPU time so far of the JIT compiler threads of these JVMs, in ms (null: not readable, e.g. not Linux). */
export function jitCpuMs(pids) {
  let ms = 0;
  try {
    for (const pid of pids) {
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        if (!COMPILER.test(readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8'))) continue;
        ms += statCpuMs(`/proc/${pid}/task/${task}/stat`);
      }
    }
  } catch {
    return null;
  }
  return ms;
}

/**
 * Runs `load` (one unmeasured round) until, over a round, the compilers used under `quietShare`
 * of a core; at most `maxRounds`. Returns what it took, for the report.
 */
export async function warmUntilJitQuiet({ pids, load, say, quietShare = 0.05, maxRounds = 20 }) {
  const started = Date.now();
  for (let round = 1; ; round++) {
    const before = jitCpuMs(pids);
    const t0 = Date.now();
    await load();
    const after = jitCpuMs(pids);
    if (before === null || after === null) return { rounds: round, seconds: (Date.now() - started) / 1000, share: null };
    const share = (after - before) / (Date.now() - t0);
    if (share < quietShare || round >= maxRounds) {
      const seconds = (Date.now() - started) / 1000;
      say(`brokers warmed: ${round} rounds, ${seconds.toFixed(0)} s, JIT compilers at ${(100 * share).toFixed(1)} % of a core in the last`);
      return { rounds: round, seconds, share };
    }
  }
}
