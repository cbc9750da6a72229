// test-plan: standalone
import t from 'tap';
import { dkimVerify, publishedDkimKeys } from '../../../test/helpers/dkim-verify.js';
import { envelope, testSmtpSender } from '../../../test/helpers/mailer.js';
import { SmtpSink } from '../../../test/helpers/smtp-sink.js';

// Issue #16 §4: what the SMTP server received verifies with dkimpy (not our code), the public keys
// coming from a DNS server as a receiver would get them.

// example.com mid-rotation (two selectors); example.org has no key.
const KEYS = ['example.com.s2026a.pem', 'example.com.s2026b.pem'];

async function setup(dkimRequired: boolean) {
  const sink = await new SmtpSink().start();
  const { keyring, dns } = await publishedDkimKeys(t, KEYS);
  const sender = testSmtpSender(sink.url, {
    timeoutMs: 2_000,
    sendTimeoutMs: 5_000,
    messageIdDomain: 'mail.example.com',
    dkim: keyring,
    dkimRequired,
  });
  t.teardown(async () => {
    sender.close();
    await sink.stop();
  });
  return { sink, dns, sender };
}

t.test('every message from a keyed domain verifies with dkimpy, under each selector; a changed body does not', async (t) => {
  const { sink, dns, sender } = await setup(false);
  const emails = [
    envelope({}, { subject: 'Plain', text: 'hello' }),
    envelope(
      {},
      { from: 'Ünïcode Name <news@example.com>', subject: 'Ünïcode — “quotes”', html: '<p>Grüße</p>', text: 'Grüße\n\n-- \nsig' },
    ),
    envelope(
      {},
      {
        subject: 'With an attachment',
        text: 'see attached',
        attachments: [{ filename: 'a.txt', content: Buffer.from('x'.repeat(5_000)).toString('base64') }],
      },
    ),
    envelope(
      {},
      { subject: 'Trailing whitespace and long lines', text: `${'word '.repeat(400)}\n\n\n   \n`, headers: { 'X-Campaign': 'november' } },
    ),
    // A CR alone went out as CRLF after the body was signed: every receiver failed the body hash.
    envelope({}, { subject: 'Line ends of every kind', text: 'old Mac\rWindows\r\nUnix\n\rmixed\r', html: '<p>one\rtwo</p>\r' }),
  ];
  for (const e of emails) t.equal((await sender.send(e)).kind, 'sent');
  t.equal(sink.received.length, emails.length);
  const results = await dkimVerify(
    dns.server,
    sink.received.map((r) => r.raw),
  );
  for (const [i, sigs] of results.entries()) {
    t.same(
      sigs.map((s) => `${s.selector}.${s.domain} ${s.ok}`).sort(),
      ['s2026a.example.com true', 's2026b.example.com true'],
      `message ${i}: both selectors' signatures verify`,
    );
  }
  const tampered = sink.received.map((r) => r.raw.replace(/\r\n\r\n([\s\S]*)$/, (_m, body: string) => `\r\n\r\n${body.replace(/o/, '0')}`));
  t.not(tampered[0], sink.received[0]?.raw, 'the body was changed');
  for (const [i, sigs] of (await dkimVerify(dns.server, tampered)).entries()) {
    t.ok(
      sigs.length === 2 && sigs.every((s) => !s.ok && /body hash mismatch/.test(s.error ?? '')),
      `tampered message ${i}: no signature verifies (${sigs[0]?.error})`,
    );
  }
  const header = sink.received.map((r) => r.raw.replace(/^Subject: .*$/m, 'Subject: changed'));
  t.ok(
    (await dkimVerify(dns.server, header)).every((sigs) => sigs.every((s) => !s.ok)),
    'a changed Subject does not verify either',
  );
  dns.txt.clear();
  t.ok(
    (await dkimVerify(dns.server, [sink.received[0]!.raw]))[0]!.every((s) => !s.ok),
    'with no key published, nothing verifies (the verifier really asks the DNS)',
  );
});

t.test('a domain without a key: sent unsigned, or refused (permanent, nothing sent) under DKIM_REQUIRED', async (t) => {
  const open = await setup(false);
  t.equal((await open.sender.send(envelope({}, { from: 'a@example.org' }))).kind, 'sent');
  t.notMatch(open.sink.received[0]?.raw, /^DKIM-Signature:/im, 'unsigned');
  const strict = await setup(true);
  const refused = await strict.sender.send(envelope({}, { from: 'a@example.org' }));
  t.match(refused, { kind: 'permanent', error: 'no DKIM key for example.org (DKIM_REQUIRED is true)' });
  t.equal(strict.sink.received.length, 0, 'nothing reached the SMTP server');
  t.equal((await strict.sender.send(envelope({}, { from: 'a@example.com' }))).kind, 'sent', 'a keyed domain still sends');
});
