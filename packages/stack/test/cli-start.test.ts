// test-plan: exclusive — it starts a second whole stack (three more JVMs); beside another file it would starve both of CPU.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { sleep, uniqueName, waitUntil } from '../../../test/helpers/env.js';
import { alive, commandLine, descendants, processesMentioning } from '../../../test/helpers/processes.js';
import { userNode } from '../../../test/helpers/user-node.js';
import { repoRoot } from '../src/paths.js';
import { freePort } from '../src/ports.js';

/**
 * `npm start` on private ports and a private data dir (the test run's own stack holds the
 * defaults), waiting until it prints its env; returns the process and all it started.
 */
async function startWholeSystem(t: Test, options: { env?: NodeJS.ProcessEnv; smtpUrl?: string } = {}) {
  let env: NodeJS.ProcessEnv;
  if (options.env) {
    // The same data dir and ports, as a user's next `npm start` has.
    env = { ...options.env };
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'postline-start-'));
    chmodSync(dataDir, 0o755);
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    env = {
      ...process.env,
      STACK_DATA_DIR: dataDir,
      STACK_KAFKA_PORT: '9192',
      STACK_POSTGRES_PORT: String(await freePort()),
      STACK_INBOX_SMTP_PORT: String(await freePort()),
      STACK_INBOX_WEB_PORT: String(await freePort()),
      PORT: String(await freePort()),
    };
    for (const name of ['KAFKA_BROKERS', 'DATABASE_URL', 'SMTP_URL', 'INBOX_URL', 'STACK_CONTROL_URL']) delete env[name];
  }
  const dataDir = env.STACK_DATA_DIR as string;
  if (options.smtpUrl) env.SMTP_URL = options.smtpUrl;
  else delete env.SMTP_URL;
  // Its own process group, as a shell gives a foreground job: Ctrl-C signals that whole group.
  const child = spawn(...userNode([join(repoRoot, 'packages/stack/dist/cli/start.js')]), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  t.teardown(() => child.kill('SIGKILL'));
  for (let i = 0; i < 240 && !(stderr.includes('press Ctrl-C') && readyServices(stdout) === 4); i++) {
    if (child.exitCode !== null) break;
    await sleep(500);
  }
  return { child, dataDir, env, output: () => ({ stdout, stderr }) };
}

/** How many services have logged that their boot finished (the mailer and the webhook dispatcher: joined their groups; the bounce listener: migrated). */
const readyServices = (stdout: string) => logLines(stdout).filter((l) => l.msg === 'ready').length;

function logLines(stdout: string): { level: number; msg: string; name?: string }[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

function exited(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: string | null } | 'timeout'> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

t.test(
  'npm start starts clean; SIGKILL of it leaves nothing running, and the next npm start on the same data sends what it had accepted; Ctrl-C drains in order and leaves nothing running',
  async (t) => {
    // The first start sends to a port nothing listens on, so the accepted email is still in Kafka,
    // unsent, when the launcher and (by the kernel's parent-death signal) all three brokers and
    // Postgres are killed at once.
    const first = await startWholeSystem(t, { smtpUrl: 'smtp://127.0.0.1:2' });
    const api = `http://127.0.0.1:${first.env.PORT}`;
    t.equal(
      readyServices(first.output().stdout),
      4,
      'the API, the mailer, the webhook dispatcher and the bounce listener are ready (both consumers joined their groups)',
    );
    t.same(
      logLines(first.output().stdout).filter((l) => l.level >= 50),
      [],
      'a clean start logs nothing at error level',
    );
    t.ok(processesMentioning(first.dataDir).length >= 4, 'three Kafka JVMs and a postmaster run from the private data dir');
    const subject = uniqueName('accepted-before-sigkill');
    const res = await fetch(`${api}/v1/emails`, {
      method: 'POST',
      headers: { authorization: 'Bearer dev-key-change-me', 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'dev@example.com', to: 'someone@example.org', subject, text: 'kept through a SIGKILL' }),
    });
    t.equal(res.status, 202, 'accepted: acks=all from the brokers');
    const { id } = (await res.json()) as { id: string };
    t.ok(
      await waitUntil(() => logLines(first.output().stdout).some((l) => l.msg === 'smtp server unreachable; pausing'), 30_000),
      'the mailer tried it and could not reach the SMTP server',
    );
    const firstTree = descendants(first.child.pid!);
    t.ok(firstTree.length >= 4);
    const names = new Map(firstTree.map((pid) => [pid, commandLine(pid).slice(0, 200)]));
    first.child.kill('SIGKILL');
    await exited(first.child, 10_000);
    // The kernel delivers the parent-death signal at once: SIGKILL to the JVMs (give them a moment
    // to go), SIGQUIT to Postgres, SIGTERM to the services, which drain first and are bound by
    // their own deadline (SHUTDOWN_TIMEOUT_MS, 30 s), not by this test's moment: with the brokers
    // and Postgres gone at the same instant, a drain's retries can take longer under load (CI: one
    // process still there after 5 s). Each is held to its own bound, and the slow ones are named.
    const killedAt = performance.now();
    const isService = (pid: number) => /\/services\/[a-z]+\/dist\//.test(names.get(pid) ?? '');
    t.equal(firstTree.filter(isService).length, 4, 'the four services were among its children');
    const goneAfter = new Map<number, number>();
    while (performance.now() - killedAt < 35_000 && goneAfter.size < firstTree.length) {
      for (const pid of firstTree) if (!goneAfter.has(pid) && !alive(pid)) goneAfter.set(pid, performance.now() - killedAt);
      await sleep(100);
    }
    const within = (pid: number, ms: number) => (goneAfter.get(pid) ?? Number.POSITIVE_INFINITY) <= ms;
    const named = (pids: number[]) => pids.map((pid) => `; ${pid}: ${names.get(pid)}`).join('');
    const others = firstTree.filter((pid) => !isService(pid) && !within(pid, 5_000));
    t.same(others, [], `SIGKILL: the kernel took every child with it${named(others)}`);
    const services = firstTree.filter((pid) => isService(pid) && !within(pid, 35_000));
    t.same(services, [], `every service drained and exited within its 30 s deadline${named(services)}`);
    // One that did not is killed here: it would hold this file's pipes open (tap's timeout, 470 s
    // later, in CI on 8b1cb5d) and a core for the rest of the run.
    for (const pid of firstTree.filter(alive)) process.kill(pid, 'SIGKILL');
    const exits = firstTree
      .filter(isService)
      .map((pid) => `${names.get(pid)?.match(/services\/\S+/)?.[0]} ${Math.round(goneAfter.get(pid) ?? -1)} ms`);
    t.comment(`services exited after: ${exits.join(', ')}`);
    t.same(processesMentioning(first.dataDir), []);

    // The user's next `npm start`, on the same data, with the dev inbox.
    const { child, dataDir, output } = await startWholeSystem(t, { env: first.env });
    const { stdout, stderr } = output();
    t.equal(readyServices(stdout), 4, 'it starts again on the killed data');
    t.same(
      logLines(stdout).filter((l) => l.level >= 50),
      [],
      'and logs nothing at error level',
    );
    t.match(stdout, /^KAFKA_BROKERS=127\.0\.0\.1:9192,127\.0\.0\.1:9193,127\.0\.0\.1:9194$/m, stderr);
    t.match(stdout, /^DATABASE_URL=postgres:\/\/.+$/m);
    t.match(stdout, /^SMTP_URL=smtp:\/\/127\.0\.0\.1:\d+$/m);
    const inbox = stdout.match(/^Inbox: +(http:\/\/127\.0\.0\.1:\d+)$/m)?.[1];
    t.ok(inbox, 'it prints where the dev inbox is');
    const status = async () =>
      (await (await fetch(`${api}/v1/emails/${id}`, { headers: { authorization: 'Bearer dev-key-change-me' } })).json()) as {
        status: string;
      };
    t.ok(await waitUntil(async () => (await status()).status === 'sent', 60_000), 'the email the killed stack accepted is sent');
    const listed = (await (await fetch(`${inbox}/api/email`)).json()) as { subject: string }[];
    t.equal(listed.filter((e) => e.subject === subject).length, 1, 'the inbox received it, once');
    const tree = descendants(child.pid!);

    // What a terminal's Ctrl-C does: SIGINT to every process of the foreground group at once.
    process.kill(-child.pid!, 'SIGINT');
    const result = await exited(child, 60_000);
    t.same(result, { code: 0, signal: null }, 'exits 0');
    const after = output();
    t.match(after.stderr, /mailer exited \(code 0, signal null\)/, 'the mailer drained and exited 0');
    t.match(after.stderr, /api exited \(code 0, signal null\)/, 'the API drained and exited 0');
    t.match(after.stderr, /webhooks exited \(code 0, signal null\)/, 'the webhook dispatcher drained and exited 0');
    t.match(after.stderr, /bounces exited \(code 0, signal null\)/, 'the bounce listener closed and exited 0');
    const mailerLog = logLines(after.stdout).filter((l) => l.name === 'postline-mailer');
    t.ok(
      mailerLog.some((l) => l.msg === 'consumer stopped'),
      'the mailer left its group (committed) before exiting',
    );
    t.notOk(
      mailerLog.some((l) => /second|exiting/.test(l.msg)),
      "it got one signal, from the launcher, not the terminal's as well",
    );
    t.ok(
      after.stderr.indexOf('mailer exited') < after.stderr.indexOf('stopped', after.stderr.indexOf('mailer exited')),
      'services stop before the infrastructure',
    );
    await sleep(500);
    t.same(tree.filter(alive), [], 'every process it started is gone');
    t.same(processesMentioning(dataDir), [], 'no Java or Postgres process from its data dir is left');
  },
);
