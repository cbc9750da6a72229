import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleParser } from 'mailparser';
import t from 'tap';
import { freePort } from '../../packages/stack/src/ports.js';
import { KEY } from '../helpers/api.js';
import { dkimVerify, publishedDkimKeys } from '../helpers/dkim-verify.js';
import { sleep, TEST_SENDER_DOMAINS, uniqueName } from '../helpers/env.js';
import { eventually, MESSAGE_ID_DOMAIN } from '../helpers/mailer.js';
import { type SmtplibRequest, type Step, smtplib, swaks } from '../helpers/smtp-clients.js';
import { authPlain, submitRaw } from '../helpers/smtp-raw.js';
import { System } from './harness.js';

// Issue #15 §2: SMTP submission, driven by clients no one here wrote (Python's smtplib, swaks),
// through the real API and mailer processes on their production defaults to a recording SMTP server.
// A broker outage during a submission (451, then 250 on retry) is in services/api/test/kafka-outage.test.ts,
// which already takes two brokers down: here it would stop every file running beside this one.

const user = uniqueName('smtp').toLowerCase();
const rcpt = (n: string) => `${user}-${n}@example.net`;
const queuedId = (steps: Step[]) => /queued as ([0-9a-f-]{36})/.exec(steps.find((s) => s.cmd === 'data')?.message ?? '')?.[1];
const codes = (steps: Step[]) => steps.map((s) => `${s.cmd} ${s.code}`);

t.test('SMTP submission, with the production defaults', async (t) => {
  const port = await freePort();
  // Issue #16 §4 rides along: the mailer process signs with DKIM_KEYS_DIR, and everything that
  // went out is checked with dkimpy at the end.
  const keys = await publishedDkimKeys(
    t,
    TEST_SENDER_DOMAINS.map((d) => `${d}.e2e.pem`),
  );
  const system = await System.start(t, {
    mailers: 1,
    api: { SUBMISSION_PORT: String(port) },
    mailer: { DKIM_KEYS_DIR: keys.dir },
  });
  const base = { host: '127.0.0.1', port, password: KEY, mailFrom: 'app@example.com', from: 'App Name <app@example.com>' };
  const submit = (r: Partial<SmtplibRequest>) => smtplib({ ...base, rcptTo: [rcpt('a')], to: [rcpt('a')], ...r });
  const received = (id: string) => system.sink.received.filter((r) => r.messageId === `<${id}@${MESSAGE_ID_DOMAIN}>`);

  await t.test('smtplib: delivered to the SMTP server; Bcc from the envelope; safe headers kept, ours replaced', async (t) => {
    const messageId = `<${uniqueName('client')}@app.example>`;
    const request = {
      to: [rcpt('to')],
      cc: [rcpt('cc')],
      rcptTo: [rcpt('to'), rcpt('cc'), rcpt('bcc')],
      subject: 'Submitted',
      messageId,
      headers: { 'X-App-Ref': 'order-7', 'Authentication-Results': 'mx.example; dkim=pass', Date: 'Mon, 1 Jan 2001 00:00:00 +0000' },
    };
    const { features, steps } = await submit(request);
    t.ok(features.includes('size') && features.includes('auth'), `SIZE and AUTH offered (${features.join(', ')})`);
    t.same(codes(steps), ['ehlo 250', 'auth 235', 'mail 250', 'rcpt 250', 'rcpt 250', 'rcpt 250', 'data 250']);
    const id = queuedId(steps) as string;
    t.ok(id, 'the 250 names the email id');
    t.ok(await eventually(async () => received(id).length > 0, 60_000), 'the SMTP server received it');
    const [got] = received(id);
    t.same(new Set(got?.to), new Set(request.rcptTo), 'every envelope recipient, the Bcc one too');
    const mail = await simpleParser(got?.raw ?? '');
    t.equal(mail.subject, 'Submitted');
    t.equal(mail.headers.get('x-app-ref'), 'order-7', 'an allowed header is kept');
    t.notOk(mail.headers.has('authentication-results'), 'a verdict header is dropped');
    t.notOk(mail.headers.has('bcc'), 'no Bcc header');
    t.equal(mail.messageId, `<${id}@${MESSAGE_ID_DOMAIN}>`, 'the Message-ID is ours');
    t.not(mail.date?.getUTCFullYear(), 2001, 'the Date is ours');
    // A client that lost the 250 and submits again gets the same email, not a second one.
    const again = await submit(request);
    t.equal(queuedId(again.steps), id, 'resubmitted with the same Message-ID: the same email');
    await sleep(2_000);
    t.equal(received(id).length, 1, 'received once');
  });

  await t.test('swaks: AUTH LOGIN, delivered', async (t) => {
    const subject = uniqueName('swaks');
    const { code, transcript } = await swaks([
      ...['--server', `127.0.0.1:${port}`, '--auth', 'LOGIN', '--auth-user', 'apikey', '--auth-password', KEY],
      ...['--from', 'app@example.com', '--to', rcpt('swaks'), '--header', `Subject: ${subject}`, '--body', 'from swaks'],
    ]);
    t.equal(code, 0, transcript.slice(-600));
    const id = /queued as ([0-9a-f-]{36})/.exec(transcript)?.[1] as string;
    t.ok(await eventually(async () => received(id).length > 0, 60_000), 'the SMTP server received it');
    t.equal(received(id)[0]?.subject, subject);
  });

  await t.test('smtplib: text in ISO-2022-JP and quoted-printable HTML arrive as they were written', async (t) => {
    // Python's email writes both: the parts the API decodes itself, a piece at a time, before
    // mailparser reads them (streaming-parts.ts). What the SMTP server received is the judge.
    const text = 'こんにちは、世界。\nカタカナ and ASCII, line two.\n';
    const html = `<p style="color: red">Café — naïve = ${'long line '.repeat(30)}</p>\n<p>  trailing spaces kept inside</p>\n`;
    const { steps } = await submit({ subject: 'Japanese', text, textCharset: 'iso-2022-jp', html, htmlCte: 'quoted-printable' });
    t.equal(steps.at(-1)?.code, 250, JSON.stringify(steps.at(-1)));
    const id = queuedId(steps) as string;
    t.ok(await eventually(async () => received(id).length > 0, 60_000), 'the SMTP server received it');
    const mail = await simpleParser(received(id)[0]?.raw ?? '');
    t.equal(mail.text, text, 'the text, from ISO-2022-JP');
    t.equal(mail.html, html, 'the HTML, from quoted-printable');
  });

  await t.test('swaks: an empty text part beside HTML in GBK, delivered as written', async (t) => {
    // An empty part's line break comes with the part from mailsplit: the pre-pass's rewrite of it ran
    // into the next boundary, and the HTML part's headers became text. The HTML's charset is read
    // before mailparser (text-assembly.ts). What the SMTP server received is the judge.
    const subject = uniqueName('empty-part');
    const data = join(await mkdtemp(join(tmpdir(), 'swaks-')), 'message.eml');
    t.teardown(() => rm(dirname(data), { recursive: true, force: true }));
    const message = [
      `From: app@example.com`,
      `To: ${rcpt('empty')}`,
      `Subject: ${subject}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      '',
      '--b',
      'Content-Type: text/html; charset=gbk',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>\xc4\xe3\xba\xc3 GBK</p>', 'latin1').toString('base64'),
      '--b--',
      '',
    ].join('\r\n');
    await writeFile(data, message);
    const { code, transcript } = await swaks([
      ...['--server', `127.0.0.1:${port}`, '--auth', 'LOGIN', '--auth-user', 'apikey', '--auth-password', KEY],
      ...['--from', 'app@example.com', '--to', rcpt('empty'), '--data', `@${data}`],
    ]);
    t.equal(code, 0, transcript.slice(-600));
    const id = /queued as ([0-9a-f-]{36})/.exec(transcript)?.[1] as string;
    t.ok(await eventually(async () => received(id).length > 0, 60_000), 'the SMTP server received it');
    const mail = await simpleParser(received(id)[0]?.raw ?? '');
    t.equal(mail.subject, subject);
    t.equal(mail.html, '<p>你好 GBK</p>', 'the HTML, from GBK');
    t.notMatch(mail.text ?? '', /Content-Type|PHA/, 'no header or base64 of the HTML part in the text');
  });

  await t.test('refusals: a wrong key, a disallowed sender, too many recipients, a message over SIZE', async (t) => {
    t.same(codes((await submit({ password: 'not-a-key-of-this-service' })).steps), ['ehlo 250', 'auth 535']);
    t.same(codes((await submit({ password: null })).steps), ['ehlo 250', 'mail 530'], 'no AUTH, no mail');
    const spoof = await submit({ mailFrom: 'ceo@evil.test', from: 'ceo@evil.test' });
    t.same(codes(spoof.steps), ['ehlo 250', 'auth 235', 'mail 550']);
    const headerSpoof = await submit({ from: 'CEO <ceo@evil.test>' });
    t.equal(headerSpoof.steps.at(-1)?.code, 550, 'a From header outside SENDER_DOMAINS is refused at DATA');
    const many = Array.from({ length: 51 }, (_, i) => rcpt(`many-${i}`));
    const tooMany = await submit({ rcptTo: many, to: many.slice(0, 1) });
    const rcpts = tooMany.steps.filter((s) => s.cmd === 'rcpt');
    t.same(
      rcpts.slice(0, 50).map((s) => s.code),
      Array(50).fill(250),
      'the first 50 (MAX_RECIPIENTS) accepted',
    );
    t.same([rcpts[50]?.code, rcpts[50]?.message.slice(0, 5)], [452, '4.5.3'], 'the 51st: 452 too many recipients');
    const big = await submit({ attachmentBytes: 6 * 1024 * 1024 });
    t.same(codes(big.steps), ['ehlo 250', 'auth 235', 'mail 552'], 'SIZE over the limit: 552 at MAIL FROM, before the data');
  });

  await t.test(
    'SMTP smuggling: a dot on a line ended by a lone CR or LF is text, and goes out with CRLF and the dot doubled',
    async (t) => {
      // What SEC Consult's 2023 attack sends: a lenient server ends DATA at the lone-LF dot and runs
      // the rest as commands, a second transaction from any allowed sender. Written on a bare socket,
      // since smtplib and swaks fix line ends. The mailer's own side, against a lenient receiver, is
      // in services/mailer/test/smtp-sender-smuggling.test.ts.
      const smuggled = `MAIL FROM:<app@example.com>\r\nRCPT TO:<${rcpt('victim')}>\r\nDATA\r\nFrom: app@example.com\r\nTo: ${rcpt('victim')}\r\nSubject: SMUGGLED\r\n\r\nsmuggled\r\n.\r\n`;
      for (const [i, end] of ['\n.\r\n', '\n.\n', '\r.\r', '\r\n.\n'].entries()) {
        const subject = uniqueName(`smuggle-${i}`);
        const head = `From: App Name <app@example.com>\r\nTo: ${rcpt('s')}\r\nSubject: ${subject}\r\n\r\n`;
        const replies = await submitRaw(
          port,
          [authPlain(KEY), 'MAIL FROM:<app@example.com>', `RCPT TO:<${rcpt('s')}>`],
          `${head}hello${end}${smuggled}`,
        );
        t.equal(replies.length, 2, `one message, then the NOOP: ${replies.join(' | ')}`);
        const id = /queued as ([0-9a-f-]{36})/.exec(replies[0] ?? '')?.[1] as string;
        t.ok(await eventually(async () => received(id).length > 0, 60_000), 'the SMTP server received it');
        const [got] = received(id);
        t.same(got?.to, [rcpt('s')], 'to its one recipient');
        t.same(got?.raw.match(/\r(?!\n)|(?<!\r)\n/g) ?? [], [], 'no CR or LF alone');
        const mail = await simpleParser(got?.raw ?? '');
        t.equal(mail.subject, subject);
        t.match(mail.text, /hello\n\.\nMAIL FROM:<app@example\.com>\nRCPT TO:/, 'the dot and the "commands" are text');
      }
      await sleep(2_000);
      t.same(
        system.sink.received.filter((r) => r.to.includes(rcpt('victim')) || r.subject === 'SMUGGLED'),
        [],
        'no smuggled message',
      );
    },
  );

  await t.test('DKIM: every message the SMTP server received is signed, and verifies with dkimpy', async (t) => {
    const raws = system.sink.received.map((r) => r.raw);
    t.ok(raws.length >= 3, `${raws.length} messages`);
    const results = await dkimVerify(keys.dns.server, raws);
    t.ok(
      results.every((sigs) => sigs.length === 1 && sigs[0]?.ok && sigs[0].domain === 'example.com'),
      JSON.stringify(results.filter((sigs) => !(sigs.length === 1 && sigs[0]?.ok)).slice(0, 3)),
    );
  });
});
