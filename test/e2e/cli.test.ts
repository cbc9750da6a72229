import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { topicOffsets } from '@postline/runtime';
import t from 'tap';
import { repoRoot } from '../../packages/stack/src/paths.js';
import { AUTH } from '../helpers/api.js';
import { sleep, uniqueName } from '../helpers/env.js';
import { testKafka } from '../helpers/kafka.js';
import { eventually, ledgerPool, MESSAGE_ID_DOMAIN } from '../helpers/mailer.js';
import { userNode } from '../helpers/user-node.js';
import { System } from './harness.js';

// Issue #15 §3: the `postline` CLI as an operator runs it (the built bin, in its own process),
// against the real API, mailer, Kafka and Postgres, on the production defaults.

const CLI = join(repoRoot, 'packages/cli/dist/cli.js');
const user = uniqueName('dlq').toLowerCase();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(env: Record<string, string>, args: string[], onStderr?: (line: string, kill: () => void) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(...userNode([CLI, ...args]), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
      for (const line of c.toString().split('\n')) if (line) onStderr?.(line, () => child.kill('SIGKILL'));
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('postline CLI: send, status, events, dlq list/show, a redrive of 500 killed halfway then run again, and a replay', async (t) => {
  const startedAt = new Date().toISOString();
  const system = await System.start(t, { mailers: 1 });
  const env = {
    POSTLINE_URL: system.apiUrl,
    POSTLINE_API_KEY: AUTH.authorization.slice('Bearer '.length),
    KAFKA_BROKERS: system.mailerEnv.KAFKA_BROKERS as string,
    DATABASE_URL: system.mailerEnv.DATABASE_URL as string,
    EMAILS_TOPIC: system.apiEnv.EMAILS_TOPIC as string,
    DEAD_LETTER_TOPIC: system.apiEnv.DEAD_LETTER_TOPIC as string,
  };

  // A thin client of the API.
  const sent = await cli(env, [
    'send',
    '--from',
    'orders@example.com',
    '--to',
    `${user}-cli@example.net`,
    '--subject',
    'From the CLI',
    '--text',
    'hi',
  ]);
  t.equal(sent.code, 0, sent.stderr);
  const { id } = JSON.parse(sent.stdout) as { id: string };
  t.ok(await eventually(async () => JSON.parse((await cli(env, ['status', id])).stdout).status === 'sent', 60_000), 'status: sent');
  const listed = JSON.parse((await cli(env, ['list', '--limit', '100'])).stdout) as {
    object: string;
    data: { id: string; status: string }[];
  };
  t.match([listed.object, listed.data.find((e) => e.id === id)], ['list', { status: 'sent' }], 'list: the email among the newest');
  const refused = await cli(env, ['list', '--limit', '101']);
  t.match([refused.code, refused.stderr], [1, /400/], 'list: a page over 100 is refused');
  const events = JSON.parse((await cli(env, ['events', id])).stdout) as { type: string }[];
  t.same(events.map((e) => e.type).slice(-1), ['email.sent']);
  const bad = await cli(env, ['send', '--from', 'x@evil.test', '--to', 'a@example.net', '--subject', 's', '--text', 't']);
  t.equal(bad.code, 1, 'a refused send exits 1');
  t.match(bad.stderr, /403/);

  // The SMTP server refuses everything (permanently, not as a bounce): 500 emails are dead-lettered.
  system.sink.behaviour = () => ({ code: 554, message: '5.7.1 Relay temporarily misconfigured' });
  const ids: string[] = [];
  for (let b = 0; b < 5; b++) {
    const res = await fetch(`${system.apiUrl}/v1/emails/batch`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({
        emails: Array.from({ length: 100 }, (_, i) => ({
          from: 'orders@example.com',
          to: `${user}-${b * 100 + i}@example.net`,
          subject: `dlq ${b * 100 + i}`,
          text: 'x',
        })),
      }),
    });
    ids.push(...((await res.json()) as { data: { id: string }[] }).data.map((d) => d.id));
  }
  const pool = ledgerPool(t);
  const failed = async () =>
    (await pool.query<{ n: number }>(`select count(*)::int as n from emails where id = any($1) and state = 'failed'`, [ids])).rows[0]?.n;
  t.ok(await eventually(async () => (await failed()) === 500, 120_000), 'all 500 failed and dead-lettered');

  const list = JSON.parse((await cli(env, ['dlq', 'list', '--reason', 'misconfigured'])).stdout) as { position: string; emailId: string }[];
  t.equal(list.length, 500, 'dlq list --reason finds the 500');
  const shown = JSON.parse((await cli(env, ['dlq', 'show', list[0]?.position as string])).stdout);
  t.match(shown, { code: 'MAILER_ERR_SMTP_PERMANENT', reason: /554/, envelope: { id: list[0]?.emailId } });
  const dry = JSON.parse((await cli(env, ['dlq', 'redrive', '--reason', 'misconfigured', '--dry-run'])).stdout);
  t.match(dry, { matched: 500, redriven: 500, dryRun: true });
  t.equal(await failed(), 500, 'a dry run changes nothing');

  // "Fixed": the server accepts again. The first redrive is killed after two of its five batches.
  system.sink.behaviour = () => 'accept';
  const first = await cli(env, ['dlq', 'redrive', '--reason', 'misconfigured', '--batch-size', '100'], (line, kill) => {
    if (/redrive: 200\/500/.test(line)) kill();
  });
  t.equal(first.code, null, 'the first redrive was killed (SIGKILL)');
  t.match(first.stderr, /redrive: 200\/500/);
  const second = await cli(env, ['dlq', 'redrive', '--reason', 'misconfigured', '--batch-size', '100']);
  t.equal(second.code, 0, second.stderr);
  const result = JSON.parse(second.stdout);
  t.equal(result.matched, 500);
  t.equal(result.redriven + result.alreadyFinal, 500, `redriven ${result.redriven}, already final ${result.alreadyFinal}`);

  const received = (emailId: string) => system.sink.received.filter((r) => r.messageId === `<${emailId}@${MESSAGE_ID_DOMAIN}>`).length;
  t.ok(await eventually(async () => ids.every((x) => received(x) > 0), 120_000), 'every redriven email is sent');
  await sleep(3_000);
  t.same(
    ids.filter((x) => received(x) !== 1),
    [],
    'each exactly once',
  );

  // Replay, as after losing state: refused while a mailer is in the group; with it stopped, the
  // group goes back to the start of this test, and a new mailer re-reads all 1,000-odd records
  // (the first sends, the redrives). The ledger makes each a no-op: nothing is sent again.
  const group = system.mailerEnv.CONSUMER_GROUP as string;
  const busy = await cli(env, ['replay', '--group', group, '--from', startedAt]);
  t.equal(busy.code, 1, 'refused while the mailer runs');
  t.match(busy.stderr, /running member\(s\): stop its mailers first/);
  const mailer = system.mailers[0] as (typeof system.mailers)[number];
  mailer.child.kill('SIGTERM');
  await mailer.exited;
  const replay = await cli(env, ['replay', '--group', group, '--from', startedAt]);
  t.equal(replay.code, 0, replay.stderr);
  const plan = JSON.parse(replay.stdout) as { applied: boolean; partitions: { partition: number; offset: string }[] };
  t.ok(plan.applied);
  t.ok(
    plan.partitions.every((p) => p.offset === '0' || Number(p.offset) === -1),
    `every partition back to this test's first record (${JSON.stringify(plan.partitions)})`,
  );
  const sentBefore = system.sink.received.length;
  await system.startMailer();
  t.ok(
    await eventually(() => consumedToEnd(system.apiEnv.EMAILS_TOPIC as string, group), 120_000),
    'the new mailer re-read the topic to its end',
  );
  await sleep(2_000);
  t.equal(system.sink.received.length, sentBefore, 'and sent nothing again');
});

/** Whether `group` has committed the end of every partition of `topic`. */
async function consumedToEnd(topic: string, group: string): Promise<boolean> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const ends = await topicOffsets(admin, topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return ends.every((e) => {
      const c = committed?.partitions.find((p) => p.partition === e.partition);
      return Number(e.high) === 0 || Number(c?.offset ?? -1) >= Number(e.high);
    });
  } finally {
    await admin.disconnect();
  }
}
