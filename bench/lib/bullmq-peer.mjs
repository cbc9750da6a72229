// G1's peer (bench/peers/bullmq-api.mjs) and the Redis it writes to: Debian's redis-server with an
// append-only file fsynced every second, as a production BullMQ setup runs it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep, startProcess, stopProcess } from './measure.mjs';

export async function startBullmqPeer(root, key) {
  const dir = mkdtempSync(join(tmpdir(), 'postline-bench-redis-'));
  const redisPort = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    const { exitCode } = redis;
    if (exitCode !== null) throw new Error(`redis-server exited with ${exitCode}`);
    if (await pingable(redisPort)) break;
    if (i > 100) throw new Error('redis-server did not start');
    await sleep(100);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await startProcess(
    join(root, 'bench/peers/bullmq-api.mjs'),
    { PORT: String(port), REDIS_URL: `redis://127.0.0.1:${redisPort}`, API_KEY: key },
    `${url}/readyz`,
  );
  return {
    child,
    url,
    /** Empties the queue (see the peer), then lets Redis settle before the next round. */
    async reset() {
      await fetch(`${url}/reset`, { method: 'POST' });
      await sleep(1_000);
    },
    async stop() {
      await stopProcess(child);
      redis.kill('SIGTERM');
      await new Promise((r) => (redis.exitCode === null ? redis.once('exit', r) : r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function pingable(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}
