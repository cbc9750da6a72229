import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import { repoRoot } from '../../packages/stack/src/paths.js';

export interface ServiceProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Runs a built service (services/<name>/dist/server.js) as its own process, as in production. */
export function spawnService(t: Test, name: 'api' | 'mailer', env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [join(repoRoot, `services/${name}/dist/server.js`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c) => (out = (out + c).slice(-20_000)));
  child.stderr?.on('data', (c) => (out = (out + c).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return { child, exited, output: () => out };
}
