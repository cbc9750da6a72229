import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { purgeExpired } from '@postline/ledger';
import t, { type Test } from 'tap';
import { repoRoot } from '../../../packages/stack/src/paths.js';
import { sleep } from '../../../test/helpers/env.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';
import {
  envelope,
  eventually,
  ledgerPool,
  ledgerRows,
  MESSAGE_ID_DOMAIN,
  mailerFixture,
  produce,
  startMailer,
} from '../../../test/helpers/mailer.js';
import { userNode } from '../../../test/helpers/user-node.js';
import { mayBeForgotten } from '../src/ledger-memory.js';
import { type HandlerDeps, handleRecord } from '../src/record-handler.js';
import type { SmtpSender } from '../src/smtp-sender.js';
import { deps, record } from './handler-deps.js';

const DAY = 24 * 3600 * 1000;

t.test(
  'a record is looked up only once it is nearly as old as the ledger remembers (the default 30 days, less 12 h for clocks)',
  async (t) => {
    const now = Date.now();
    const at = (ageMs: number) => record(envelope(), '0', { timestamp: now - ageMs });
    t.notOk(mayBeForgotten(at(0), 30, now));
    t.notOk(mayBeForgotten(at(29 * DAY), 30, now));
    t.notOk(mayBeForgotten(at(29.5 * DAY - 1_000), 30, now));
    t.ok(mayBeForgotten(at(29.5 * DAY + 1_000), 30, now));
    t.ok(mayBeForgotten(at(400 * DAY), 30, now));
    t.ok(mayBeForgotten(at(2 * DAY), 2, now), 'LEDGER_RETENTION_DAYS lowered: sooner');
    const untimed = record(envelope());
    (untimed.message as { timestamp: string }).timestamp = 'x';
    t.notOk(mayBeForgotten(untimed, 30, now), 'no timestamp: the claim decides, as before');
  },
);

/** The handler on the real ledger, with a relay that records what it is given, and the produces it makes. */
function harness(t: Test) {
  const pool = ledgerPool(t);
  const sent: string[] = [];
  const produced: { topic: string; headers: Record<string, unknown> }[] = [];
  const send: SmtpSender['send'] = async (e) => {
    sent.push(e.id);
    return { kind: 'sent', response: '250 OK', accepted: ['someone@example.net'], refusals: [], messageId: `<${e.id}@x>` };
  };
  const d: HandlerDeps = deps(pool, send, () => true, {
    produce: async (topic, messages) => {
      for (const m of messages) produced.push({ topic, headers: (m.headers ?? {}) as Record<string, unknown> });
    },
  });
  return { pool, sent, produced, d };
}
t.test('an email sent, purged from the ledger 30 days later, then read again (offsets reset, a replay) is not sent again', async (t) => {
  const { pool, sent, produced, d } = harness(t);
  const e = envelope();
  t.same(await handleRecord(d, record(e, '0')), { kind: 'done' });
  t.same(sent, [e.id], 'sent');
  sent.length = 0;
  produced.length = 0;
  // The purge as it runs, with its row's last change put 31 days back.
  await pool.query(`update emails set updated_at = now() - interval '31 days' where id = $1`, [e.id]);
  t.ok((await purgeExpired(pool, { retentionDays: 30, staleAcceptingMs: DAY, batchSize: 1_000, pauseMs: 0 })) >= 1, 'purged');
  t.equal((await ledgerRows(pool, [e.id])).size, 0, 'the ledger no longer knows it');

  // The same record, read again 31 days after it was appended.
  t.same(await handleRecord(d, record(e, '0', { timestamp: Date.now() - 31 * DAY })), { kind: 'done' }, 'done: its partition moves on');
  t.same(sent, [], 'not sent again');
  t.equal(produced.length, 1, 'one record produced');
  t.equal(produced[0]?.topic, d.config.DEAD_LETTER_TOPIC, 'to the dead-letter topic');
  t.equal(String(produced[0]?.headers['dead-letter-code']), 'MAILER_ERR_BEYOND_LEDGER');
  t.match(String(produced[0]?.headers['dead-letter-reason']), /more than LEDGER_RETENTION_DAYS \(30\) ago, and unknown to the ledger/);
  t.equal((await ledgerRows(pool, [e.id])).size, 0, 'no row written: its fate is not known');
});

t.test('an old record the ledger still knows is handled as any other', async (t) => {
  const { pool, sent, produced, d } = harness(t);
  const old = Date.now() - 45 * DAY;
  // Sent, and its row kept (a longer LEDGER_RETENTION_DAYS once, or not purged yet): a redelivery, skipped.
  const done = envelope();
  t.same(await handleRecord(d, record(done, '0')), { kind: 'done' });
  t.same(await handleRecord(d, record(done, '1', { timestamp: old })), { kind: 'done' });
  t.same(sent, [done.id], 'skipped as already sent, not sent twice');
  // Queued and never sent (the mailers were down that long): sent, as late as it is.
  const waiting = envelope();
  await pool.query(`insert into emails (id, account, state) values ($1, $2, 'queued')`, [waiting.id, waiting.account]);
  t.same(await handleRecord(d, record(waiting, '2', { timestamp: old })), { kind: 'done' });
  t.same(sent, [done.id, waiting.id], 'the queued one is sent');
  t.equal((await ledgerRows(pool, [waiting.id])).get(waiting.id)?.state, 'sent');
  t.equal(produced.filter((p) => p.topic === d.config.DEAD_LETTER_TOPIC).length, 0, 'nothing dead-lettered');
});

t.test('a young record unknown to the ledger is sent: the API may not have written its row (the claim creates it)', async (t) => {
  const { sent, d } = harness(t);
  const e = envelope();
  t.same(await handleRecord(d, record(e, '0', { timestamp: Date.now() - 29 * DAY })), { kind: 'done' });
  t.same(sent, [e.id]);
});

t.test(
  'on Kafka, with a running mailer: records older than the ledger remembers go to the dead letters, the others are sent; a redrive by the CLI sends them once',
  async (t) => {
    const { sink, env } = await mailerFixture(t);
    await startMailer(t, env);
    const forgotten = [envelope(), envelope()];
    const young = envelope();
    // As a reset group re-reads them: appended 40 days ago (CreateTime, kept by the topic).
    const old = String(Date.now() - 40 * DAY);
    await produce(env.EMAILS_TOPIC!, [
      ...forgotten.map((e) => ({ key: e.id, value: JSON.stringify(e), timestamp: old })),
      { key: young.id, value: JSON.stringify(young) },
    ]);
    const messageId = (e: { id: string }) => `<${e.id}@${MESSAGE_ID_DOMAIN}>`;
    t.ok(await eventually(() => sink.has(messageId(young)), 30_000), 'the young one is sent');
    const letters = await readTopic(testKafka('beyond-ledger'), env.DEAD_LETTER_TOPIC!, (r) => r.length >= 2, 30_000);
    t.same(letters.map((l) => l.key).sort(), forgotten.map((e) => e.id).sort(), 'the old ones are dead-lettered');
    t.ok(letters.every((l) => String(l.headers?.['dead-letter-code']) === 'MAILER_ERR_BEYOND_LEDGER'));
    t.notOk(
      forgotten.some((e) => sink.has(messageId(e))),
      'and not sent',
    );

    // An operator who knows they were never sent redrives them: new records, sent once each.
    // Not spawnSync: this process runs the mailer and the SMTP server.
    const run = await promisify(execFile)(
      ...userNode([join(repoRoot, 'packages/cli/dist/cli.js'), 'dlq', 'redrive', '--reason', 'BEYOND_LEDGER']),
      {
        env: { ...process.env, ...env },
      },
    );
    t.match(JSON.parse(run.stdout), { redriven: 2 }, run.stdout);
    t.ok(await eventually(() => forgotten.every((e) => sink.has(messageId(e))), 30_000), 'redriven and sent');
    await sleep(2_000);
    t.same(
      forgotten.map((e) => sink.counts().get(messageId(e))),
      [1, 1],
      'once each',
    );
  },
);
