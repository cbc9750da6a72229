import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verpAddress, verpTag } from '@postline/contracts';
import { verpKey } from '@postline/ledger';
import t from 'tap';
import { startBounceListener } from '../../../../test/helpers/bounce-listener.js';
import { ledgerPool } from '../../../../test/helpers/mailer.js';
import { arf, dsn } from '../../../../test/helpers/reports.js';
import { swaks } from '../../../../test/helpers/smtp-clients.js';
import { startMessage } from '../../../../test/helpers/smtp-raw.js';
import { BODY_WAIT_MS } from '../../src/body-budget.js';

// Issue #16 §5: the bounce listener with the real ledger, fed over SMTP by swaks (Debian's, a
// client no one here wrote) with reports built as RFC 3464 and RFC 5965 describe them.

const DOMAIN = 'bounces.example.com';
const ACCOUNT = 'acct-bounces';
const pool = ledgerPool(t);
const dir = mkdtempSync(join(tmpdir(), 'postline-reports-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const app = await startBounceListener(t, DOMAIN);

/** An email the ledger knows, sent to `to` (its recipient recorded as the mailer records it). */
async function sentEmail(to: string): Promise<{ id: string; verp: string; headers: string[] }> {
  const id = randomUUID();
  await pool.query(`insert into emails (id, account, state) values ($1, $2, 'sent')`, [id, ACCOUNT]);
  await pool.query(`insert into email_recipients (email_id, address, status) values ($1, $2, 'accepted')`, [id, to]);
  const verp = `bounces+${id}@${DOMAIN}`;
  return {
    id,
    verp,
    headers: [
      `Return-Path: <${verp}>`,
      'From: Shop <orders@example.com>',
      `To: ${to}`,
      `Message-ID: <${id}@mail.example.com>`,
      'Subject: Hi',
    ],
  };
}

let files = 0;
/** Delivers with swaks, from `from` (a loopback address: another one is another client). */
async function deliver(to: string, data: string, from = '127.0.0.1') {
  const file = join(dir, `report-${++files}.eml`);
  writeFileSync(file, data);
  const args = ['--server', '127.0.0.1', '--port', String(app.bounceSmtpPort), '--local-interface', from];
  return swaks([...args, '--from', '<>', '--to', to, '--data', `@${file}`]);
}
const events = async (id: string) =>
  (
    await pool.query<{ type: string; payload: { data: Record<string, unknown> } }>(
      'select type, payload from email_events where email_id = $1 order by seq',
      [id],
    )
  ).rows;
const suppression = async (address: string) =>
  (
    await pool.query<{ reason: string; email_id: string }>(
      'select reason, email_id from suppressions where account = $1 and address = $2',
      [ACCOUNT, address],
    )
  ).rows[0];
const metric = async (outcome: string) => {
  const text = (await app.inject({ url: '/metrics' })).body;
  return Number(new RegExp(`^postline_bounces_reports_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
};

t.test('a hard bounce: 250, email.bounced (hard, 5.1.1), the recipient suppressed; the same report again adds nothing', async (t) => {
  const e = await sentEmail('gone@example.net');
  const report = dsn({
    to: e.verp,
    recipient: 'gone@example.net',
    action: 'failed',
    status: '5.1.1',
    diagnostic: '550 5.1.1 User unknown',
    originalHeaders: e.headers,
  });
  const { code, transcript } = await deliver(e.verp, report);
  t.equal(code, 0, 'swaks: the transaction succeeded');
  t.match(transcript, /<-\s+250 2\.0\.0 Recorded/);
  t.match(await events(e.id), [
    { type: 'email.bounced', payload: { data: { recipient: 'gone@example.net', status: '5.1.1', bounceType: 'hard' } } },
  ]);
  t.match(await suppression('gone@example.net'), { reason: 'hard_bounce', email_id: e.id });
  await deliver(e.verp, report);
  t.equal((await events(e.id)).length, 1, 'one event, however often the MTA delivers the report');
  t.match((await app.inject({ url: '/metrics' })).body, /^postline_bounces_log_lines_dropped_total 0$/m, 'process metrics');
});

t.test('a soft bounce: email.bounced (transient, 4.4.7), no suppression', async (t) => {
  const e = await sentEmail('slow@example.net');
  await deliver(e.verp, dsn({ to: e.verp, recipient: 'slow@example.net', action: 'delayed', status: '4.4.7', originalHeaders: e.headers }));
  t.match(await events(e.id), [{ type: 'email.bounced', payload: { data: { bounceType: 'transient', status: '4.4.7' } } }]);
  t.equal(await suppression('slow@example.net'), undefined);
});

t.test('a complaint to the feedback address: email.complained, the recipient suppressed', async (t) => {
  const e = await sentEmail('annoyed@example.net');
  const fbl = `fbl@${DOMAIN}`;
  const { transcript } = await deliver(
    fbl,
    arf({ to: fbl, feedbackType: 'abuse', originalRcptTo: 'annoyed@example.net', original: [...e.headers, '', 'Hi'] }),
  );
  t.match(transcript, /<-\s+250 2\.0\.0 Recorded/);
  t.match(await events(e.id), [
    { type: 'email.complained', payload: { data: { recipient: 'annoyed@example.net', feedbackType: 'abuse' } } },
  ]);
  t.match(await suppression('annoyed@example.net'), { reason: 'complaint', email_id: e.id });
});

t.test('an email to several: a report speaks for the recipient its VERP tag names, and for no one else', async (t) => {
  const id = randomUUID();
  const [reader, colleague] = [`reader-${id.slice(0, 8)}@example.net`, `colleague-${id.slice(0, 8)}@example.net`];
  await pool.query(`insert into emails (id, account, state) values ($1, $2, 'sent')`, [id, ACCOUNT]);
  for (const r of [reader, colleague]) {
    await pool.query(`insert into email_recipients (email_id, address, status) values ($1, $2, 'accepted')`, [id, r]);
  }
  // The ledger's own key (migration 8), as the mailers sign with it.
  const key = await verpKey(pool);
  const verpOf = (r: string) => verpAddress(id, DOMAIN, verpTag(key, id, r));
  const headers = (r: string) => [
    `Return-Path: <${verpOf(r)}>`,
    'From: Shop <orders@example.com>',
    `To: ${reader}, ${colleague}`,
    `Message-ID: <${id}@mail.example.com>`,
  ];
  const bounce = (to: string, recipient: string) =>
    dsn({ to, recipient, action: 'failed', status: '5.1.1', originalHeaders: headers(reader) });
  // The reader got its copy from verpOf(reader), and writes a DSN about its colleague.
  const mine = verpOf(reader);
  const forged = await deliver(mine, bounce(mine, colleague));
  t.match(forged.transcript, /<-\s+250 2\.0\.0 Kept for inspection/, 'about another recipient: kept, not recorded');
  const untagged = `bounces+${id}@${DOMAIN}`;
  const bare = await deliver(untagged, bounce(untagged, colleague));
  t.match(bare.transcript, /<-\s+250 2\.0\.0 Kept for inspection/, 'nor with the tag left off');
  t.same(await events(id), [], 'nothing recorded');
  t.equal(await suppression(colleague), undefined, 'and the colleague is not suppressed');

  const own = await deliver(mine, bounce(mine, reader));
  t.match(own.transcript, /<-\s+250 2\.0\.0 Recorded/, 'its own bounce is recorded');
  t.match(await suppression(reader), { reason: 'hard_bounce', email_id: id });
  const fbl = `fbl@${DOMAIN}`;
  const redacted = arf({
    to: fbl,
    feedbackType: 'abuse',
    originalRcptTo: 'redacted@example.net',
    original: [...headers(colleague), '', 'Hi'],
  });
  t.match((await deliver(fbl, redacted)).transcript, /<-\s+250 2\.0\.0 Recorded/);
  t.match(
    (await events(id)).map((e) => [e.type, e.payload.data.recipient]),
    [
      ['email.bounced', reader],
      ['email.complained', colleague],
    ],
    "a complaint whose provider redacted the address is the tagged recipient's",
  );
  t.match(await suppression(colleague), { reason: 'complaint', email_id: id });
});

t.test('a malformed report is kept for inspection and counted', async (t) => {
  const before = await metric('malformed');
  const e = await sentEmail('x@example.net');
  const { transcript } = await deliver(e.verp, 'From: someone@example.net\r\nSubject: out of office\r\n\r\nI am away until Monday.\r\n');
  t.match(transcript, /<-\s+250 2\.0\.0 Kept for inspection/);
  const { rows } = await pool.query<{ reason: string; rcpt_to: string[]; raw: string }>(
    'select reason, rcpt_to, raw from inbound_reports where $1 = any(rcpt_to)',
    [e.verp],
  );
  t.match(rows, [{ reason: 'not a multipart/report', raw: /I am away until Monday/ }]);
  t.equal(await metric('malformed'), before + 1);
  t.same(await events(e.id), [], 'and records nothing about the email');
});

t.test('a forged bounce, from someone who received the email, suppresses nobody the email was not sent to', async (t) => {
  const e = await sentEmail('reader@example.net');
  const before = await metric('not a recipient');
  // The reader knows the email's VERP address (its Return-Path) and writes a DSN naming others.
  const { transcript } = await deliver(
    e.verp,
    dsn({
      to: e.verp,
      recipient: 'ceo@victim.example',
      action: 'failed',
      status: '5.1.1',
      originalHeaders: e.headers,
      others: ['cfo@victim.example'],
    }),
  );
  t.match(transcript, /<-\s+250 2\.0\.0 Kept for inspection/, 'taken (a sending MTA would not retry it), kept, not recorded');
  t.equal(await suppression('ceo@victim.example'), undefined, 'the named address is not suppressed');
  t.equal(await suppression('cfo@victim.example'), undefined, 'nor the other');
  t.same(await events(e.id), [], 'no event');
  t.equal(await metric('not a recipient'), before + 1, 'counted');
  const { rows } = await pool.query('select reason from inbound_reports where $1 = any(rcpt_to)', [e.verp]);
  t.match(rows, [{ reason: 'names no recipient of the email' }]);
  // Its real recipient, named among others, is still what the report says.
  await deliver(
    e.verp,
    dsn({
      to: e.verp,
      recipient: 'reader@example.net',
      action: 'failed',
      status: '5.1.1',
      originalHeaders: e.headers,
      others: ['ceo@victim.example'],
    }),
  );
  t.match(await suppression('reader@example.net'), { reason: 'hard_bounce', email_id: e.id });
  t.equal(await suppression('ceo@victim.example'), undefined);
  t.match(await events(e.id), [{ type: 'email.bounced', payload: { data: { recipient: 'reader@example.net' } } }]);
});

t.test('a report for an email we never sent is refused; so is any recipient outside the bounce domain', async (t) => {
  const unknown = `bounces+${randomUUID()}@${DOMAIN}`;
  const refused = await deliver(
    unknown,
    dsn({ to: unknown, recipient: 'a@example.net', action: 'failed', status: '5.1.1', originalHeaders: ['Subject: x'] }),
  );
  t.match(refused.transcript, /<\*\*\s+550 5\.1\.1 No such email/);
  t.not(refused.code, 0);
  const relay = await deliver('victim@example.org', 'Subject: relay me\r\n\r\nhello\r\n');
  t.match(relay.transcript, /RCPT TO:<victim@example\.org>[\s\S]*<\*\*\s+550 5\.7\.1 Relaying denied/);
  t.ok((await metric('refused recipient')) >= 1);
});

t.test(
  'reports held at once are bounded (twice BOUNCE_MAX_BYTES): a third large one waits, then 451; a sender gone mid-DATA gives its room back',
  async (t) => {
    // Two senders in DATA, each from its own address (one client holds at most one largest
    // report's room), each send all but 1 KiB of the largest report (10 MiB): the room is full.
    // They keep sending a line now and then: a sender that stalls gives its room back after
    // BODY_IDLE_MS (api/test/fast/body-timeout.test.ts).
    const held = await Promise.all(
      ['127.0.0.2', '127.0.0.3'].map((from) =>
        startMessage(app.bounceSmtpPort, ['MAIL FROM:<>', `RCPT TO:<bounces+${randomUUID()}@${DOMAIN}>`], from),
      ),
    );
    const line = `${'x'.repeat(1022)}\r\n`;
    const nearlyAll = `\r\n${line.repeat(10 * 1024 - 1)}`;
    await Promise.all(held.map((socket) => new Promise((resolve) => socket.write(nearlyAll, resolve))));
    await new Promise((r) => setTimeout(r, 1_000));
    const trickle = setInterval(() => {
      for (const socket of held) socket.write('more of it\r\n');
    }, 2_000);
    t.teardown(() => clearInterval(trickle));
    const started = Date.now();
    const third = await deliver(`bounces+${randomUUID()}@${DOMAIN}`, 'Subject: a third\r\n\r\nhello\r\n');
    t.match(third.transcript, /<\*\*\s+451 4\.3\.1 Too many reports in progress/, 'a 451: the sending MTA retries later');
    t.ok(Date.now() - started >= BODY_WAIT_MS - 100, `after waiting ${Date.now() - started} ms`);
    t.ok((await metric('deferred')) >= 1, 'counted');
    clearInterval(trickle);
    for (const socket of held) socket.destroy();
    const after = await deliver(`bounces+${randomUUID()}@${DOMAIN}`, 'Subject: a fourth\r\n\r\nhello\r\n');
    // A reply line, not any "451" (a random UUID in the RCPT line once held one).
    t.notMatch(after.transcript, /<\*\*\s+451/, 'once they went away, a report is taken at once');
    t.match(after.transcript, /<-\s+250 2\.0\.0/, 'and kept');
  },
);

t.test(
  'a sender holds room for what it has sent, not for the SIZE it declared: two that declared the largest and sent a line keep no report out',
  async (t) => {
    const largest = 10 * 1024 * 1024;
    const held = await Promise.all(
      [0, 1].map(() => startMessage(app.bounceSmtpPort, [`MAIL FROM:<> SIZE=${largest}`, `RCPT TO:<bounces+${randomUUID()}@${DOMAIN}>`])),
    );
    const trickle = setInterval(() => {
      for (const socket of held) socket.write('more of it\r\n');
    }, 2_000);
    t.teardown(() => {
      clearInterval(trickle);
      for (const socket of held) socket.destroy();
    });
    const started = Date.now();
    const third = await deliver(`bounces+${randomUUID()}@${DOMAIN}`, 'Subject: a third\r\n\r\nhello\r\n');
    t.notMatch(third.transcript, /<\*\*\s+451/, 'not deferred');
    t.match(third.transcript, /<-\s+250 2\.0\.0/, 'taken');
    t.ok(Date.now() - started < BODY_WAIT_MS / 2, `at once (${Date.now() - started} ms), not after waiting for room`);
  },
);

t.test("one client holds at most one largest report's room: its next report waits, another client's is taken", async (t) => {
  const held = await startMessage(app.bounceSmtpPort, ['MAIL FROM:<>', `RCPT TO:<bounces+${randomUUID()}@${DOMAIN}>`], '127.0.0.4');
  const line = `${'x'.repeat(1022)}\r\n`;
  await new Promise((resolve) => held.write(`\r\n${line.repeat(10 * 1024 - 1)}`, resolve));
  const trickle = setInterval(() => held.write('more of it\r\n'), 2_000);
  t.teardown(() => {
    clearInterval(trickle);
    held.destroy();
  });
  await new Promise((r) => setTimeout(r, 1_000));
  const started = Date.now();
  const [same, other] = await Promise.all([
    deliver(`bounces+${randomUUID()}@${DOMAIN}`, 'Subject: from the same client\r\n\r\nhello\r\n', '127.0.0.4'),
    deliver(`bounces+${randomUUID()}@${DOMAIN}`, 'Subject: from another client\r\n\r\nhello\r\n', '127.0.0.5'),
  ]);
  t.match(other.transcript, /<-\s+250 2\.0\.0/, "another client's report is taken, with half the room free");
  t.match(same.transcript, /<\*\*\s+451 4\.3\.1 Too many reports in progress/, "the same client's waits for its share, then 451");
  t.ok(Date.now() - started >= BODY_WAIT_MS - 100, `after ${Date.now() - started} ms`);
});
