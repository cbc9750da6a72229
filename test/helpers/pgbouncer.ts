import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { spawnGuarded } from '../../packages/stack/src/guarded-process.js';
import { freePort } from '../../packages/stack/src/ports.js';
import { waitUntil } from './wait.js';

/** Debian's path: /usr/sbin is not on every PATH. */
const PGBOUNCER = existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer';

/**
 * A real PgBouncer (Debian's, installed by scripts/test-tools.sh) in front of the test run's
 * Postgres, in transaction mode: each transaction, and each statement outside one, may run on
 * another server session, which is what breaks anything that keeps state in a session. Returns
 * `url` with its host and port made the pooler's. Stopped on teardown.
 */
export async function startPgBouncer(t: Test, url: string, poolSize = 3): Promise<{ url: string; output: () => string }> {
  const server = new URL(url);
  const dir = mkdtempSync(join(tmpdir(), 'postline-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const user = decodeURIComponent(server.username);
  writeFileSync(join(dir, 'users.txt'), `"${user}" "${decodeURIComponent(server.password)}"\n`, { mode: 0o644 });
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 200',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  // PgBouncer will not run as root; as root, it runs as the user the test stack runs Postgres as.
  const asUser = process.getuid?.() === 0 ? ['-u', 'postgres'] : [];
  // Guarded: it dies with this process, even if the test is killed before its teardown.
  const child = spawnGuarded(PGBOUNCER, [...asUser, join(dir, 'pgbouncer.ini')], {
    pidFile: join(dir, 'guard.pid'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  if (!(await waitUntil(() => listening(port), 10_000, 100))) throw new Error(`PgBouncer did not listen on ${port}: ${output}`);
  const pooled = new URL(url);
  pooled.port = String(port);
  return { url: pooled.href, output: () => output };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    socket.unref();
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once('close', () => resolve(false));
  });
