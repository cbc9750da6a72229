import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { FailedLines, summarise, type TapSummary } from '../tap-summary.js';

export interface TapRun {
  code: number;
  summary: TapSummary | null;
  /** Its `not ok` lines (FailedLines). */
  failed: string[];
  held?: string;
}

/** Set once SIGINT or SIGTERM reached a tap run: after Ctrl-C the test run is over. */
export const interruption = { seen: false };

/**
 * Runs tap; its output goes to stdout as it comes, or is handed back whole in `held` (`echo`
 * false).
 */
export async function runTap(args: string[], env: NodeJS.ProcessEnv, { echo = true } = {}): Promise<TapRun> {
  const tap = spawn(process.execPath, [join(repoRoot, 'node_modules/tap/dist/esm/run.mjs'), ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let tail = '';
  const held: string[] = [];
  const failed = new FailedLines();
  tap.stdout.setEncoding('utf8');
  tap.stdout.on('data', (chunk: string) => {
    if (echo) process.stdout.write(chunk);
    else held.push(chunk);
    failed.push(chunk);
    tail = (tail + chunk).slice(-8192);
  });
  // Ctrl-C reaches tap directly (same process group); we only note it, wait, and clean up.
  const onSigint = () => {
    interruption.seen = true;
  };
  const forward = () => {
    interruption.seen = true;
    tap.kill('SIGTERM');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => tap.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', forward);
  return { code, summary: summarise(tail), failed: failed.lines(), ...(echo ? {} : { held: held.join('') }) };
}
