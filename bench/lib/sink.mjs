// An SMTP sink (in its own process) that records when each Message-ID arrived: the end of the
// pipeline. `arrivals` are on the host's monotonic clock (CLOCK_MONOTONIC, the same in every
// process): compare them with `now()` taken in another process. `wallArrivals` are Date.now():
// compare them with wall-clock times another process took (a due time, Postgres' now()). The two
// drift apart when the host's clock is adjusted: seen on the bench host, 120 ms over 25 s, and
// 6.8 s during one run of a few minutes. Each process's `performance.timeOrigin` is that wall
// clock at its start, so `timeOrigin + performance.now()` in two processes is not one clock either.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/** Milliseconds on the host's monotonic clock, comparable between processes. */
export const now = () => Number(process.hrtime.bigint()) / 1e6;

export async function startSink() {
  const child = fork(join(import.meta.dirname, 'sink-server.mjs'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [{ port }] = await once(child, 'message');
  const arrivals = new Map();
  const wallArrivals = new Map();
  let count = 0;
  let onReset = null;
  child.on('message', (m) => {
    if (m === 'reset') return onReset?.();
    const [id, t, wall] = m;
    count++;
    if (!id) return;
    arrivals.set(id, t);
    wallArrivals.set(id, wall);
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    arrivals,
    wallArrivals,
    get count() {
      return count;
    },
    async reset() {
      const done = new Promise((r) => (onReset = r));
      child.send('reset');
      await done;
      arrivals.clear();
      wallArrivals.clear();
      count = 0;
    },
    async close() {
      child.disconnect();
      await once(child, 'exit');
    },
  };
}
