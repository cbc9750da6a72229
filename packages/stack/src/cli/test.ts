#!/usr/bin/env node
// `npm test`: starts the stack the tests need (unless KAFKA_BROKERS / DATABASE_URL / SMTP_URL are
// given), runs every test with tap against it, stops the stack, and ends with the plain line
// `N passed, N failed` that CI reads. Extra arguments go to tap (e.g. `npm test -- services/api`).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer } from '../control-server.js';
import { repoRoot } from '../paths.js';
import { freePort } from '../ports.js';
import { startStack } from '../stack.js';
import { summarise } from '../tap-summary.js';
import { progress, runMain } from './run-main.js';

runMain(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'postline-test-'));
  // mkdtemp makes it 0700; as root, Postgres runs as `postgres` and must be able to enter it.
  chmodSync(dataDir, 0o755);
  const stack = await startStack({
    dataDir,
    postgresPort: await freePort(),
    inboxSmtpPort: await freePort(),
    inboxWebPort: await freePort(),
    progress,
  });
  const control = await startControlServer(stack);
  let tail = '';
  let code: number;
  try {
    const tap = spawn(process.execPath, [join(repoRoot, 'node_modules/tap/dist/esm/run.mjs'), ...process.argv.slice(2)], {
      cwd: repoRoot,
      // tap's TypeScript loader would otherwise find the solution tsconfig.json (no options).
      env: {
        NODE_ENV: 'test',
        ...process.env,
        ...stack.env,
        STACK_CONTROL_URL: control.url,
        TS_NODE_PROJECT: join(repoRoot, 'tsconfig.test.json'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    tap.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-8192);
    });
    // Ctrl-C reaches tap directly (same process group); we only wait and then clean up.
    const noop = () => {};
    process.on('SIGINT', noop);
    process.on('SIGTERM', () => tap.kill('SIGTERM'));
    code = await new Promise<number>((resolve) => tap.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
    process.off('SIGINT', noop);
  } finally {
    await control.close();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const summary = summarise(tail);
  if (!summary) {
    process.stdout.write('0 passed, 1 failed\n');
    progress('tap printed no summary line: the run did not complete');
    return 1;
  }
  process.stdout.write(`${summary.passed} passed, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''}\n`);
  return code !== 0 || summary.failed > 0 ? 1 : 0;
});
