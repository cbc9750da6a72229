import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { userNode } from '../../../test/helpers/user-node.js';
import { repoRoot } from '../src/paths.js';
import { freePort } from '../src/ports.js';

const INFRA = join(repoRoot, 'packages/stack/dist/cli/infra.js');

async function runInfra(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    // Brokers 9292–9294, controllers 19292–19294: neither in the OS's ephemeral range (32768–60999),
    // where 29192 put the controllers (39192 was once taken by an outgoing connection: EADDRINUSE),
    // nor in freePort's 20000–28999, nor another file's fixed ports (9092, 9192), nor npm test's second stack's (9392).
    STACK_KAFKA_PORT: '9292',
    STACK_POSTGRES_PORT: String(await freePort()),
    STACK_INBOX_SMTP_PORT: String(await freePort()),
    STACK_INBOX_WEB_PORT: String(await freePort()),
  };
  for (const name of ['KAFKA_BROKERS', 'DATABASE_URL', 'SMTP_URL']) delete base[name];
  const child = spawn(...userNode([INFRA]), { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A PATH that holds only the named programs (node is always there: it runs the CLI). */
function pathWith(t: Test, programs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'postline-path-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const p of programs) symlinkSync(`/usr/bin/${p}`, join(dir, p));
  return dir;
}

function assertOneSentence(t: Test, result: { code: number | null; stderr: string }, pattern: RegExp) {
  t.equal(result.code, 1, 'exits 1');
  const lines = result.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line, not a stack trace: ${result.stderr}`);
  t.match(lines[0], pattern);
  t.notMatch(result.stderr, /\n\s+at /, 'no stack frames');
}

t.test('a malformed KAFKA_BROKERS is named, before anything starts', async (t) => {
  assertOneSentence(t, await runInfra({ KAFKA_BROKERS: 'localhost' }), /KAFKA_BROKERS: must be a comma-separated list of host:port/);
});

t.test('an unreachable DATABASE_URL says so, without its password', async (t) => {
  const result = await runInfra({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
    SMTP_URL: 'smtp://127.0.0.1:1',
    DATABASE_URL: 'postgres://app:s3cret@127.0.0.1:1/app',
  });
  assertOneSentence(
    t,
    result,
    // The URL is parsed and only the password masked (the user name helps and is no secret).
    /^DATABASE_URL \(postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app\) is not reachable: .*; start that database or unset DATABASE_URL/,
  );
  t.notMatch(result.stderr, /s3cret/);
});

t.test('missing Java says what to install', async (t) => {
  const result = await runInfra({ PATH: pathWith(t, []), DATABASE_URL: process.env.DATABASE_URL!, SMTP_URL: 'smtp://127.0.0.1:1' });
  assertOneSentence(t, result, /^Java was not found on PATH; install a Java 17\+ runtime/);
});

t.test('missing Maven (with no cached jars) says what to install', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'postline-cache-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  mkdirSync(join(cache, 'empty'));
  const result = await runInfra({
    PATH: pathWith(t, ['java']),
    XDG_CACHE_HOME: join(cache, 'empty'),
    STACK_DATA_DIR: join(cache, 'data'),
    DATABASE_URL: process.env.DATABASE_URL!,
    SMTP_URL: 'smtp://127.0.0.1:1',
  });
  assertOneSentence(t, result, /^Maven \(mvn\) was not found on PATH; it downloads the Kafka jars once/);
});
