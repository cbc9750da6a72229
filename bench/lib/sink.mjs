// An SMTP sink (in its own process) that records when each Message-ID arrived, in epoch ms:
// the end of the pipeline. Compare with `now()`.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

export const now = () => performance.timeOrigin + performance.now();

export async function startSink() {
  const child = fork(join(import.meta.dirname, 'sink-server.mjs'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [{ port }] = await once(child, 'message');
  const arrivals = new Map();
  let count = 0;
  let onReset = null;
  child.on('message', (m) => {
    if (m === 'reset') return onReset?.();
    const [id, t] = m;
    count++;
    if (id) arrivals.set(id, t);
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    arrivals,
    get count() {
      return count;
    },
    async reset() {
      const done = new Promise((r) => (onReset = r));
      child.send('reset');
      await done;
      arrivals.clear();
      count = 0;
    },
    async close() {
      child.disconnect();
      await once(child, 'exit');
    },
  };
}
