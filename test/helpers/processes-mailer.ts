import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { serviceNodeArgs } from '../../packages/stack/src/node-options.js';
import { repoRoot } from '../../packages/stack/src/paths.js';
import { userNode } from './user-node.js';

export interface ServiceProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** How often each warning or error message (pino `msg`, level ≥ 40) was logged, over the whole run. */
  warnings(): Record<string, number>;
  /** How often each message (pino `msg`, any level) was logged, over the whole run. */
  messages(): Record<string, number>;
  /** How often each error or fatal message (level ≥ 50) was logged, over the whole run. */
  errors(): Record<string, number>;
  /**
   * The first and the last lines of each warning or error message, over the whole run: the tail
   * of output() is often all one message (a retry loop's), and a diagnosis needs what came first.
   */
  samples(): Record<string, string[]>;
  /** The `problem` of the first `could not start…` line (a refusal at boot names its fix there), if any. */
  fatalProblem(): string | undefined;
  /** Counts the lines matching `pattern` from now to the end of the run (output() keeps the last 20 KB only). */
  counter(pattern: RegExp): () => number;
}

/** Lines kept of each warning message, from its start and from its end (samples()). */
const SAMPLES = 3;

const problemOf = (line: string): string => {
  try {
    return String(JSON.parse(line).problem ?? '');
  } catch {
    return line;
  }
};

/** Runs a built service (services/<name>/dist/server.js) as its own process, as in production. */
export function spawnService(t: Test, name: 'api' | 'mailer' | 'webhooks', env: Record<string, string>): ServiceProcess {
  // With the heap settings it runs with everywhere (node-options.ts).
  const child = spawn(...userNode([...serviceNodeArgs(name), join(repoRoot, `services/${name}/dist/server.js`)]), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let partial = '';
  const logFile = serviceLogFile(name, child.pid);
  const warnings: Record<string, number> = {};
  const messages: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const firsts: Record<string, string[]> = {};
  let fatalProblem: string | undefined;
  const lasts: Record<string, string[]> = {};
  const counters: { pattern: RegExp; n: number }[] = [];
  const keep = (msg: string, line: string) => {
    const first = firsts[msg] ?? [];
    firsts[msg] = first;
    if (first.length < SAMPLES) first.push(line.slice(0, 600));
    else lasts[msg] = [...(lasts[msg] ?? []), line.slice(0, 600)].slice(-SAMPLES);
  };
  const onData = (c: Buffer) => {
    out = (out + c).slice(-20_000);
    if (logFile) appendFileSync(logFile, c);
    const lines = (partial + c).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? '?';
      messages[msg] = (messages[msg] ?? 0) + 1;
      if (msg.startsWith('could not start') && fatalProblem === undefined) fatalProblem = problemOf(line);
      for (const c of counters) if (c.pattern.test(line)) c.n++;
      if (!/"level":(40|50|60)/.test(line)) continue;
      warnings[msg] = (warnings[msg] ?? 0) + 1;
      if (!/"level":40/.test(line)) errors[msg] = (errors[msg] ?? 0) + 1;
      keep(msg, line);
      // kafkajs's own warnings all have the message "kafkajs": keep what they said.
      if (msg === 'kafkajs') warnings[`kafkajs: ${/"kafkaMessage":"([^"]{0,120})/.exec(line)?.[1] ?? '?'}`] = 1;
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const samples = () => Object.fromEntries(Object.entries(firsts).map(([msg, first]) => [msg, [...first, ...(lasts[msg] ?? [])]]));
  return {
    child,
    exited,
    output: () => out,
    warnings: () => ({ ...warnings }),
    messages: () => ({ ...messages }),
    errors: () => ({ ...errors }),
    samples,
    fatalProblem: () => fatalProblem,
    counter: (pattern) => {
      const c = { pattern: new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')), n: 0 };
      counters.push(c);
      return () => c.n;
    },
  };
}

/**
 * With POSTLINE_TEST_SERVICE_LOGS=<dir>, each service process's whole output goes to
 * <dir>/<name>-<pid>.log: output() keeps the last 20 KB, and a failure seen once in many runs
 * (a lost email after leader kills) needs what came before that to be explained.
 */
function serviceLogFile(name: string, pid: number | undefined): string | null {
  const dir = process.env.POSTLINE_TEST_SERVICE_LOGS;
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}-${pid ?? 'unknown'}.log`);
}
