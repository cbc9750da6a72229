import { readdirSync, readFileSync } from 'node:fs';

export { alive, descendants } from '../../packages/stack/src/proc.js';

import { alive } from '../../packages/stack/src/proc.js';

/** Pids whose command line mentions `needle` (e.g. a test's private data dir). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    // An exited process reads as '' (commandLine).
    if (commandLine(Number(entry)).includes(needle) && alive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** A process' command line, for a failure message ('' once it has exited). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}
