#!/usr/bin/env node
// `npm test`: starts the stack the tests need (unless KAFKA_BROKERS / DATABASE_URL / SMTP_URL are
// given), runs every test with tap against it, stops the stack, and ends with the plain line
// `N passed, N failed` that CI reads. The whole suite runs in phases (test-plan.ts). Extra arguments go to tap (e.g. `npm test -- services/api`).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer } from '../control-server.js';
import { repoRoot } from '../paths.js';
import { freePort } from '../ports.js';
import { STACK_ENV_NAMES, startStack } from '../stack.js';
import { FailedLines, summarise, type TapSummary } from '../tap-summary.js';
import { planTests } from '../test-plan.js';
import { progress, runMain } from './run-main.js';

/**
 * The test brokers compile with C1 only. A broker's C2 compiler threads were 44 % of its CPU over
 * the suite's first 4 minutes (measured from /proc), and every broker the fault tests restart
 * compiles again; a test's traffic is short bursts, never long enough for C2's code to pay that back.
 * Not a timing setting of ours: `npm start`, the images and the bench run brokers with the JVM's defaults.
 */
const TEST_BROKER_JVM_FLAGS = ['-XX:TieredStopAtLevel=1'];

runMain(async () => {
  const args = process.argv.slice(2);
  // Named files or options run as given; the whole suite runs in phases (see test-plan.ts).
  const plan = args.length > 0 ? null : planTests(repoRoot);
  // POSTLINE_TEST_JOBS (default 2): shared files at once, for measuring; POSTLINE_TEST_PHASE:
  // one phase only (shared, exclusive, or standalone, which is `npm run test:fast` and starts no stack).
  const jobs = process.env.POSTLINE_TEST_JOBS ?? '2';
  const phase = process.env.POSTLINE_TEST_PHASE;
  if (plan && phase === 'standalone') {
    return report([await runTap(['--jobs', jobs, ...plan.standalone], withoutStack(process.env))]);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'postline-test-'));
  // mkdtemp makes it 0700; as root, Postgres runs as `postgres` and must be able to enter it.
  chmodSync(dataDir, 0o755);
  const stack = await startStack({
    dataDir,
    postgresPort: await freePort(),
    inboxSmtpPort: await freePort(),
    inboxWebPort: await freePort(),
    progress,
    kafkaJvmFlags: TEST_BROKER_JVM_FLAGS,
    kafkaSecureListener: true,
    postgresTls: true,
  });
  const control = await startControlServer(stack);
  const env = {
    ...testEnv(process.env),
    ...stack.env,
    STACK_CONTROL_URL: control.url,
  };
  const runs: TapRun[] = [];
  try {
    if (!plan) runs.push(await runTap(args, env));
    else {
      progress(
        `${plan.shared.length} test files ${jobs} at a time, then ${plan.exclusive.length} that stop parts of the stack one at a time, beside ${plan.standalone.length} that need no stack`,
      );
      if (phase !== 'exclusive') runs.push(await runTap(['--jobs', jobs, ...plan.shared], env));
      // After Ctrl-C the run is over: the missing phase makes it report "did not complete".
      if (!interrupted && phase !== 'shared') {
        // The exclusive files mostly wait on production timings with one core idle; the
        // standalone ones use it, at a lower priority so the fault tests' services keep theirs
        // (measured beside them at normal priority: the exclusive phase 809 s → 852–880 s).
        // Their output is held and printed after, so the log reads whole.
        const standalone =
          phase === 'exclusive' ? null : runTap(['--jobs', '1', ...plan.standalone], withoutStack(env), { echo: false, nice: true });
        runs.push(await runTap(['--jobs', '1', ...plan.exclusive], env));
        if (standalone) {
          const run = await standalone;
          process.stdout.write(run.held ?? '');
          runs.push(run);
        }
      }
    }
  } finally {
    await control.close();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return report(runs);
});

/** Names what failed, then prints the plain `N passed, N failed` line CI reads; the exit code. */
function report(runs: TapRun[]): number {
  const failed = runs.flatMap((r) => r.failed);
  if (failed.length > 0) process.stdout.write(`\n::: not ok, as tap printed them (nested ones first):\n${failed.join('\n')}\n\n`);
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const run of runs) {
    if (!run.summary) {
      process.stdout.write('0 passed, 1 failed\n');
      progress('tap printed no summary line: the run did not complete');
      return 1;
    }
    total.passed += run.summary.passed;
    total.failed += run.summary.failed;
    total.skipped += run.summary.skipped;
  }
  process.stdout.write(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`);
  return runs.some((r) => r.code !== 0) || total.failed > 0 ? 1 : 0;
}

function testEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    ...base,
    // tap's TypeScript loader would otherwise find the solution tsconfig.json (no options).
    TS_NODE_PROJECT: join(repoRoot, 'tsconfig.test.json'),
  };
}

/** The stack's addresses removed: a standalone file that reaches for the stack fails at once. */
function withoutStack(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = testEnv(base);
  for (const key of [...STACK_ENV_NAMES, 'STACK_CONTROL_URL']) delete env[key];
  return env;
}

let interrupted = false;

interface TapRun {
  code: number;
  summary: TapSummary | null;
  /** Its `not ok` lines (FailedLines). */
  failed: string[];
  held?: string;
}

/**
 * Runs tap; its output goes to stdout as it comes, or is handed back whole in `held` (`echo`
 * false). `nice`: tap and the test processes it starts run at a lower CPU priority (nice 10).
 */
async function runTap(args: string[], env: NodeJS.ProcessEnv, { echo = true, nice = false } = {}): Promise<TapRun> {
  const command = [process.execPath, join(repoRoot, 'node_modules/tap/dist/esm/run.mjs'), ...args];
  // Through nice(1), so tap has its priority before it starts any test process.
  const [file, ...rest] = nice ? ['nice', '-n', '10', ...command] : command;
  const tap = spawn(file as string, rest, {
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
    interrupted = true;
  };
  const forward = () => {
    interrupted = true;
    tap.kill('SIGTERM');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => tap.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', forward);
  return { code, summary: summarise(tail), failed: failed.lines(), ...(echo ? {} : { held: held.join('') }) };
}
