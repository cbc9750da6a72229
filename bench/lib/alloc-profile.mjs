// `BENCH_NODE_ARGS=--import=./bench/lib/alloc-profile.mjs`: where a service's garbage comes from.
// V8's sampling heap profiler, keeping the objects GC already collected (Node's --heap-prof
// reports only what is still alive at exit, which says nothing about the allocation rate).
// ALLOC_PROFILE_MATCH: only processes whose entry path contains it (say `mailer`);
// ALLOC_PROFILE_START_MS after the process starts, for ALLOC_PROFILE_MS, one profile is written to
// ALLOC_PROFILE_DIR as alloc-<pid>.json (a .heapprofile: Chrome DevTools opens it, or
// `node bench/lib/alloc-profile.mjs <file>` lists the functions that allocated most).
// ALLOC_PROFILE_KEEP says which allocations count: `all` (the default, the garbage too); `promoted`
// drops what a scavenge collected, so it counts what lived long enough to reach the old generation
// (what makes mark-compacts); `live` only what is alive when the profile ends, after a full GC: under
// load, what the requests in flight hold (and anything that grows).
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const env = process.env;
const main = process.argv[1] ?? '';

if (main !== '' && resolve(main) === fileURLToPath(import.meta.url)) {
  summarize(process.argv[2]);
} else if (env.ALLOC_PROFILE_DIR && main.includes(env.ALLOC_PROFILE_MATCH ?? '')) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  const keep = env.ALLOC_PROFILE_KEEP ?? 'all';
  const sampling = {
    // Finer for the smaller sets, where 16 KB steps would leave too few samples.
    samplingInterval: keep === 'all' ? 16384 : 1024,
    includeObjectsCollectedByMajorGC: keep !== 'live',
    includeObjectsCollectedByMinorGC: keep === 'all',
  };
  // Live: a full GC first, so what was promoted and has died since does not count as held.
  // Promoted: two scavenges first, so what is still young (and would die young) drops out; what
  // survives both is what the next scavenges would have promoted anyway.
  const beforeStop = (then) => {
    if (keep === 'live') return session.post('HeapProfiler.collectGarbage', then);
    if (keep === 'promoted') {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc');
      gc({ type: 'minor' });
      gc({ type: 'minor' });
    }
    then();
  };
  setTimeout(
    () => {
      session.post('HeapProfiler.startSampling', sampling);
      setTimeout(
        () =>
          beforeStop(() =>
            session.post('HeapProfiler.stopSampling', (error, result) => {
              if (!error) writeFileSync(join(env.ALLOC_PROFILE_DIR, `alloc-${process.pid}.heapprofile`), JSON.stringify(result.profile));
            }),
          ),
        Number(env.ALLOC_PROFILE_MS ?? 8000),
      ).unref();
    },
    Number(env.ALLOC_PROFILE_START_MS ?? 60000),
  ).unref();
}

/** The 30 functions that allocated most (their own allocations), as shares of the total. */
function summarize(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const own = new Map();
  let total = 0;
  const visit = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = `${functionName || '(anonymous)'} ${url.replace(/.*node_modules\//, '').replace(/^file:\/\/.*?\/(services|packages)\//, '$1/')}:${lineNumber + 1}`;
    own.set(where, (own.get(where) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  console.log(`${(total / 2 ** 20).toFixed(0)} MB sampled`);
  for (const [where, bytes] of [...own].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${where}`);
  }
}
