import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * How `npm test` splits the suite so it fits CI's 30 minutes on 2 cores. Most of the e2e time
 * is waiting on production timings (session timeouts, retry delays), not CPU, so files that
 * only use the shared stack run two at a time. A file that stops brokers or Postgres through
 * the stack control (or starts another stack) would break any file running beside it on its
 * stack, so each runs alone on one, on two stacks side by side (cli/test.ts). Files that need no
 * stack at all (the infrastructure-free tier, `npm run test:fast`) run beside both phases, on the
 * CPU they leave idle.
 */
export interface TestPlan {
  /** Run with --jobs 2. */
  shared: string[];
  /** Each alone on one of the stacks (lanes.ts): the second's from when the standalone ones end, the first's after the shared ones. */
  exclusive: string[];
  /** Run beside the other two phases, one at a time, with no stack in their environment. */
  standalone: string[];
}

/** The roots of tap's `include` globs in package.json (packages/*, services/*, test/). */
const ROOTS = ['packages', 'services'];
/** A file that can take the stack down, or says so with a comment giving the reason. */
const EXCLUSIVE = /stackControl\(|^\/\/ test-plan: exclusive\b/m;
/**
 * A file that says it needs no stack. They get an environment without the stack's addresses,
 * so one marked by mistake fails (test/helpers/env.ts throws) instead of touching the stack
 * while the exclusive files stop parts of it.
 */
const STANDALONE = /^\/\/ test-plan: standalone\b/m;
/**
 * Exclusive files that start first on their lanes: the longest, so none of them is the last to
 * start and the run's tail. broker-faults takes ~300 s of the phase's ~980 s on two lanes; in path
 * order it started ~130 s in and ended the phase at ~530 s (ci92), first it ends by ~300 s while
 * the other lane runs the rest (~505 s, replaying ci92's file times).
 */
const EXCLUSIVE_FIRST = ['test/e2e/broker-faults.test.ts'];

export function planTests(repoRoot: string): TestPlan {
  const files = [
    ...ROOTS.flatMap((root) => subdirs(join(repoRoot, root)).flatMap((pkg) => testFiles(join(pkg, 'test')))),
    ...testFiles(join(repoRoot, 'test')),
  ].map((f) => relative(repoRoot, f));
  const plan: TestPlan = { shared: [], exclusive: [], standalone: [] };
  for (const file of files.sort()) {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    (EXCLUSIVE.test(text) ? plan.exclusive : STANDALONE.test(text) ? plan.standalone : plan.shared).push(file);
  }
  // In path order, which interleaves the long e2e files with short ones. Measured: starting all
  // the e2e files first ran two of them side by side for most of the phase, and the phase took
  // 640 s instead of about 560 s on this 2-core machine (they contend for the CPU).
  const first = plan.exclusive.filter((f) => EXCLUSIVE_FIRST.includes(f));
  plan.exclusive = [...first, ...plan.exclusive.filter((f) => !first.includes(f))];
  return plan;
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name));
}

function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}
