#!/usr/bin/env node
// `npm test`: starts the stack the tests need (unless KAFKA_BROKERS / DATABASE_URL / SMTP_URL are
// given), runs every test with tap against it, stops the stack, and ends with the plain line
// `N passed, N failed` that CI reads. The whole suite runs in phases (test-plan.ts). Extra arguments go to tap (e.g. `npm test -- services/api`).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer } from '../control-server.js';
import { runInLanes } from '../lanes.js';
import { repoRoot } from '../paths.js';
import { freePort } from '../ports.js';
import { STACK_ENV_NAMES, type Stack, startStack } from '../stack.js';
import { planTests } from '../test-plan.js';
import { progress, runMain } from './run-main.js';
import { interruption, runTap, type TapRun } from './tap-run.js';

/**
 * The test brokers compile with C1 only. A broker's C2 compiler threads were 44 % of its CPU over
 * the suite's first 4 minutes (measured from /proc), and every broker the fault tests restart
 * compiles again; a test's traffic is short bursts, never long enough for C2's code to pay that back.
 * Not a timing setting of ours: `npm start`, the images and the bench run brokers with the JVM's defaults.
 */
const TEST_BROKER_JVM_FLAGS = ['-XX:TieredStopAtLevel=1'];

/**
 * The first Kafka port of each lane's stack. The first is the default the README names; the
 * second keeps clear of it and of its SASL_SSL and mTLS listeners (+500, +600), of the 9192 that
 * cli-start's own `npm start` takes and the 9292 cli-config-errors' stack tries (their
 * controllers +10000).
 */
const KAFKA_PORTS = [9092, 9392];

runMain(async () => {
  const args = process.argv.slice(2);
  // Named files or options run as given; the whole suite runs in phases (see test-plan.ts).
  const plan = args.length > 0 ? null : planTests(repoRoot);
  // POSTLINE_TEST_JOBS (default 2): shared files at once; POSTLINE_TEST_LANES (default 2): stacks
  // the exclusive files run on; POSTLINE_TEST_PHASE: one phase only (shared, exclusive, or
  // standalone, which is `npm run test:fast` and starts no stack). The first two are for measuring.
  const jobs = process.env.POSTLINE_TEST_JOBS ?? '2';
  const phase = process.env.POSTLINE_TEST_PHASE;
  if (plan && phase === 'standalone') {
    return report([await runTap(['--jobs', jobs, ...plan.standalone], withoutStack(process.env))]);
  }
  const laneCount = plan && phase !== 'shared' && plan.exclusive.length > 1 ? Number(process.env.POSTLINE_TEST_LANES ?? 2) : 1;
  // Every stack starts at once, before any test (the second's lane opens during the shared phase).
  const stacks: TestStack[] = [];
  try {
    const starting = KAFKA_PORTS.slice(0, laneCount).map((port) => startTestStack(port));
    const started = await Promise.allSettled(starting);
    for (const s of started) if (s.status === 'fulfilled') stacks.push(s.value);
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) throw failure.reason;
    const [main] = stacks as [TestStack];
    const runs: TapRun[] = [];
    if (!plan) runs.push(await runTap(args, main.env));
    else {
      progress(
        `${plan.shared.length} test files ${jobs} at a time, then ${plan.exclusive.length} that stop parts of the stack one at a time on each of ${stacks.length} stacks, beside ${plan.standalone.length} that need no stack`,
      );
      // The files that need no stack run from the start, one at a time, on the CPU the others
      // leave: most of the stack files' time is waiting on production timings. Beside the fault
      // tests' lanes alone they were the run's bound (550–683 s against the lanes' 440–470), and two
      // at a time saturated the host (as long, 567 s, and the lanes' fault tests slowed:
      // broker-faults 168 → 228 s). Not at a lower priority: at nice 10 on a busy host a file got a
      // few percent of a core, and one whose template must meet its output limit before the 100 ms
      // render limit (wall time) met the render limit (CI on abec17d). Their output is held and
      // printed after the others'.
      const standalone = phase === undefined ? runTap(['--jobs', '1', ...plan.standalone], withoutStack(main.env), { echo: false }) : null;
      const shared = phase !== 'exclusive' ? runTap(['--jobs', jobs, ...plan.shared], main.env) : null;
      // The shared files print as they run; an exclusive file's output waits for them to end.
      const held: string[] = [];
      let sharedEnded = shared === null;
      const print = (text: string) => (sharedEnded ? process.stdout.write(text) : held.push(text));
      const sharedDone = (shared ?? Promise.resolve(null)).then((run) => {
        sharedEnded = true;
        process.stdout.write(held.join(''));
        return run;
      });
      // The exclusive files mostly wait on production timings, so two stacks run them side by
      // side, each file alone on its stack; each file's output is printed whole when it ends. The
      // first stack is the shared files': its lane opens when they end. The second idled through
      // the whole shared phase (~900–1,100 s in CI, the run's longest) while the exclusive phase
      // took ~500 s after it: its lane opens once the files that need no stack are done (~740 s
      // in), in their place beside the shared files, so the host runs what it ran before.
      const exclusive =
        phase === 'shared'
          ? Promise.resolve([])
          : runInLanes(
              stacks,
              plan.exclusive,
              async (stack, file) => {
                const run = await runTap(['--jobs', '1', file], stack.env, { echo: false });
                print(run.held ?? '');
                return run;
              },
              // After Ctrl-C the run is over: no lane takes another file.
              () => interruption.seen,
              (stack) => (stack === main ? sharedDone : (standalone ?? Promise.resolve())),
            );
      const sharedRun = await sharedDone;
      if (sharedRun) runs.push(sharedRun);
      runs.push(...(await exclusive));
      if (standalone) {
        const run = await standalone;
        process.stdout.write(run.held ?? '');
        runs.push(run);
      }
    }
    return report(runs);
  } finally {
    await Promise.allSettled(stacks.map((s) => s.stop()));
  }
});

interface TestStack {
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function startTestStack(kafkaPort: number): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'postline-test-'));
  // mkdtemp makes it 0700; as root, Postgres runs as `postgres` and must be able to enter it.
  chmodSync(dataDir, 0o755);
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  let stack: Stack;
  try {
    stack = await startStack({
      dataDir,
      kafkaPort,
      postgresPort: await freePort(),
      inboxSmtpPort: await freePort(),
      inboxWebPort: await freePort(),
      progress,
      kafkaJvmFlags: TEST_BROKER_JVM_FLAGS,
      kafkaSecureListener: true,
      postgresTls: true,
    });
  } catch (error) {
    removeData();
    throw error;
  }
  const control = await startControlServer(stack);
  return {
    env: { ...testEnv(process.env), ...stack.env, STACK_CONTROL_URL: control.url },
    stop: async () => {
      await control.close();
      await stack.stop();
      removeData();
    },
  };
}

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
