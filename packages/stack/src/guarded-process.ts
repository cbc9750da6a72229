import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';

/**
 * Spawns a child that the kernel kills when this process dies, even by SIGKILL
 * (prctl PR_SET_PDEATHSIG via util-linux setpriv). That is what guarantees no orphan
 * JVM or postmaster survives a crashed launcher or an interrupted test run.
 * The pid goes to `pidFile` so a later run can also reap leftovers of a run on a
 * machine without setpriv.
 *
 * Each child runs in a process group of its own (`detached`): a terminal's Ctrl-C signals the
 * whole foreground group, and a service or a postmaster that got it at the same moment as the
 * launcher would stop out of order (seen: the mailer took the launcher's SIGTERM as a second
 * signal and exited 1 while Postgres shut down under it). Only the launcher hears the terminal;
 * it stops the children itself, in order.
 */
export function spawnGuarded(
  command: string,
  args: string[],
  options: SpawnOptions & { pidFile: string; deathSignal?: NodeJS.Signals },
): ChildProcess {
  const { pidFile, deathSignal = 'SIGKILL', ...rest } = options;
  const spawnOptions: SpawnOptions = { detached: true, ...rest };
  const guarded = existsSync(SETPRIV);
  const child = guarded
    ? spawn(SETPRIV, ['--pdeathsig', deathSignal, '--', command, ...args], spawnOptions)
    : spawn(command, args, spawnOptions);
  if (child.pid !== undefined) writeFileSync(pidFile, String(child.pid));
  child.once('exit', () => rmSync(pidFile, { force: true }));
  return child;
}

/** Kills a process left by an earlier run, if the pid file names one whose command line matches. */
export function reapStale(pidFile: string, commandLineMarker: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes(commandLineMarker)) process.kill(pid, 'SIGKILL');
  } catch {
    // Not running any more (or not Linux): nothing to reap.
  }
}

/** Sends `signal`, waits for exit, escalates to SIGKILL after `graceMs`. */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
