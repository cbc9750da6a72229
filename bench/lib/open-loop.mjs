// An open-loop load at a fixed rate, for the latency at a rate (G3). autocannon's rate limit is
// per connection and per second: each connection sends its share back to back at the top of
// every second, and the connections' seconds start together, so a second's requests come in a
// burst. Kafka's ProducerPerformance, which G3 is compared with, paces its sends, and so does this.
import { Pool } from 'undici';
import { percentile, sleep } from './measure.mjs';

/**
 * Offers `rate` requests/s, evenly spaced, for `duration` s, over at most `connections` keep-alive
 * connections. A request is issued at its time whatever the earlier ones are doing (an open loop):
 * when every connection is busy it waits in the pool, and that wait counts in its latency, as a
 * ProducerPerformance record's wait in its producer's buffer counts in its own. The latency counts
 * from when the request was issued; how late the generator itself issued requests (its timers, or
 * its process waiting for a core) is reported apart, as `issuedLateP99` and `issuedLateMax`, not
 * charged to the server. `onResponse(response)`, when given, reads the answer instead of the body
 * being discarded (G5 takes each 202's email id from it).
 */
export async function openLoop({ url, method = 'GET', headers = {}, body, connections, duration, rate, onResponse }) {
  const { origin, pathname, search } = new URL(url);
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const latencies = [];
  const lateness = [];
  const counts = { ok: 0, errors: 0 };
  const pending = [];
  const total = Math.round(rate * duration);
  const start = performance.now();
  const dueAt = (n) => start + (n * 1000) / rate;
  const request = (issued) =>
    pool.request({ path: `${pathname}${search}`, method, headers, body }).then(
      async (response) => {
        await (onResponse ? onResponse(response) : response.body.dump());
        latencies.push(performance.now() - issued);
        if (response.statusCode >= 200 && response.statusCode < 300) counts.ok++;
        else counts.errors++;
      },
      () => counts.errors++,
    );
  // Issues whatever is due, then sleeps until the next one.
  for (let i = 0; i < total; ) {
    const now = performance.now();
    for (; i < total && dueAt(i) <= now; i++) {
      lateness.push(now - dueAt(i));
      pending.push(request(now));
    }
    if (i < total) await sleep(Math.max(1, dueAt(i) - performance.now()));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  const ms = (xs, p) => Math.round(percentile(xs, p) * 10) / 10;
  return {
    rps: counts.ok / seconds,
    ok: counts.ok,
    errors: counts.errors,
    p50: ms(latencies, 50),
    p99: ms(latencies, 99),
    p999: ms(latencies, 99.9),
    issuedLateP99: ms(lateness, 99),
    issuedLateMax: ms(lateness, 100),
  };
}
