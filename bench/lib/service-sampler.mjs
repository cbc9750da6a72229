// Memory and CPU of long-running services, sampled every 2 s: resident set and CPU time from /proc,
// used heap from each service's own /metrics (prom-client's default metrics). A leak shows in the heap that garbage
// collection leaves, not in the peak: the lowest used heap of each minute is close to what was
// live after that minute's collections, and its trend over the run is the growth.
import { rssMb, scrape, statCpuMs } from './measure.mjs';

/** Least-squares slope of ys over xs. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** targets: { name: { pid, metrics (URL), prefix } }. `stop()`, when the load ends, returns each service's minutes and trend. */
export function serviceSampler(targets, { everyMs = 2_000 } = {}) {
  const start = Date.now();
  const cpuSeen = {};
  const minutes = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
  const sample = async () => {
    const minute = Math.floor((Date.now() - start) / 60_000);
    await Promise.all(
      Object.entries(targets).map(async ([name, { pid, metrics, prefix }]) => {
        // A missed scrape (the service busy or restarting) leaves this sample's heap out.
        const value = await scrape(metrics, prefix).catch(() => () => Number.NaN);
        const heap = value('nodejs_heap_size_used_bytes') / 2 ** 20;
        const rss = rssMb(pid);
        const cpu = statCpuMs(`/proc/${pid}/stat`);
        minutes[name][minute] ??= { minute, minHeapMb: Infinity, maxHeapMb: 0, maxRssMb: 0, lastRssMb: 0, cpuMs: 0 };
        const m = minutes[name][minute];
        m.cpuMs += cpu - (cpuSeen[name] ?? cpu);
        cpuSeen[name] = cpu;
        if (Number.isFinite(heap)) {
          m.minHeapMb = Math.min(m.minHeapMb, heap);
          m.maxHeapMb = Math.max(m.maxHeapMb, heap);
        }
        m.maxRssMb = Math.max(m.maxRssMb, rss);
        m.lastRssMb = rss;
      }),
    );
  };
  const timer = setInterval(() => void sample().catch(() => {}), everyMs);
  const round = (x) => Math.round(x * 10) / 10;
  const report = (name) => {
    const all = minutes[name].filter(Boolean);
    // The first three minutes are start-up and JIT warm-up; the trend is taken over the rest.
    // The last minute is cut short by stop(): its CPU is a part of a minute's.
    const steady = all.slice(0, -1).filter((m) => m.minute >= 3 && Number.isFinite(m.minHeapMb));
    const perHour =
      steady.length >= 3
        ? slope(
            steady.map((m) => m.minute),
            steady.map((m) => m.minHeapMb),
          ) * 60
        : null;
    const first = steady[0];
    const last = steady.at(-1);
    return {
      minutes: all.map((m) => ({
        ...m,
        minHeapMb: round(m.minHeapMb),
        maxHeapMb: round(m.maxHeapMb),
        maxRssMb: round(m.maxRssMb),
        lastRssMb: round(m.lastRssMb),
      })),
      heapGrowthMbPerHour: perHour === null ? null : round(perHour),
      summary: first
        ? `heap after GC ${round(first.minHeapMb)} MB at minute ${first.minute}, ${round(last.minHeapMb)} MB at minute ${last.minute} ` +
          `(trend ${round(perHour ?? 0)} MB/h); RSS ${round(first.lastRssMb)} -> ${round(last.lastRssMb)} MB, peak ${round(Math.max(...all.map((m) => m.maxRssMb)))} MB; ` +
          `CPU ${round(first.cpuMs / 600)} -> ${round(last.cpuMs / 600)} % of a core`
        : 'too short to tell',
    };
  };
  return {
    line: () =>
      Object.entries(minutes)
        .map(([name, ms]) => {
          const m = ms.filter(Boolean).at(-1);
          return m ? `${name} heap ${round(m.minHeapMb)} MB rss ${round(m.lastRssMb)} MB` : `${name} -`;
        })
        .join(', '),
    stop() {
      clearInterval(timer);
      return Object.fromEntries(Object.keys(targets).map((name) => [name, report(name)]));
    },
  };
}
