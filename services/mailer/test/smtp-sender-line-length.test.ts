// test-plan: standalone
import t from 'tap';
import { lenientSmtpRecorder } from '../../../test/helpers/lenient-smtp-recorder.js';
import { envelope, testSmtpSender } from '../../../test/helpers/mailer.js';

// RFC 5322 2.1.1: a line is at most 998 characters. Receivers that enforce it refuse the message or
// wrap the line (and break its DKIM signature). The largest values the request schema allows, on the
// bytes a server recorded: a subject or header value of 998 printable characters with no space went
// out as a 999-character line, and is now refused at the edge (bad-input-cases.ts). A forwarded
// email (message/*) that could not go out unencoded is sent as a file (build-message.ts).

const run = (n: number, c = 'S') => c.repeat(n);
const eml = (message: string) => ({ filename: 'forwarded.eml', content: Buffer.from(message, 'latin1').toString('base64') });

t.test('the largest values the schema allows go out in lines of at most 998 characters', async (t) => {
  const recorder = await lenientSmtpRecorder(t);
  const sender = testSmtpSender(`smtp://127.0.0.1:${recorder.port}`);
  t.teardown(() => sender.close());
  const emails = [
    envelope({}, { subject: run(997) }),
    envelope({}, { subject: `${run(500)} ${run(497)}` }),
    envelope({}, { subject: `é${run(997)}` }),
    envelope(
      {},
      {
        subject: 'headers',
        headers: { 'X-Long': run(997, 'v'), 'In-Reply-To': `<${run(248, 'i')}@${run(247, 'd')}><${run(248, 'i')}@${run(248, 'd')}>` },
      },
    ),
    envelope({}, { subject: 'references', headers: { References: Array.from({ length: 66 }, (_, i) => `<${i}@x.example>`).join(' ') } }),
    envelope(
      {},
      {
        from: `${run(200, 'Ñ')} <sender@example.com>`,
        to: `"${run(200, 'N')}" <rcpt@example.net>`,
        subject: 'names and a file',
        attachments: [{ filename: `${run(251, 'f')}.pdf`, content: 'eA==' }],
      },
    ),
    envelope({}, { subject: 'a body line of 5,000', text: run(5_000, 't'), html: `<p>${run(5_000, 'h')}</p>` }),
    // A forwarded email goes out unencoded (RFC 2046 5.2.1): one with a longer line or a NUL cannot.
    envelope({}, { subject: 'forwarded, 998', attachments: [eml(`Subject: fits\r\n\r\n${run(998, 'e')}\r\n`)] }),
    envelope({}, { subject: 'forwarded, 5,000', attachments: [eml(`Subject: long\r\n\r\n${run(5_000, 'e')}\r\n`)] }),
    envelope({}, { subject: 'forwarded, a NUL', attachments: [eml('Subject: nul\r\n\r\na\0b\r\n')] }),
    envelope({}, { subject: 'forwarded, last line 999', attachments: [eml(`Subject: last\r\n\r\n${run(999, 'e')}`)] }),
  ];
  for (const e of emails) t.match(await sender.send(e), { kind: 'sent' }, e.email.subject);
  t.equal(recorder.transactions.length, emails.length);
  for (const [i, x] of recorder.transactions.entries()) {
    const longest = Math.max(
      ...x.data
        .toString('latin1')
        .split('\r\n')
        .map((l) => l.length),
    );
    t.ok(longest <= 998, `${emails[i]?.email.subject.slice(0, 30)}: longest line ${longest}`);
  }
  const typeOf = (subject: string) => {
    const data = recorder.transactions[emails.findIndex((e) => e.email.subject === subject)]?.data.toString('latin1') ?? '';
    return /Content-Type: ([^;\r\n]+); name=forwarded\.eml/.exec(data)?.[1];
  };
  t.equal(typeOf('forwarded, 998'), 'message/rfc822', 'a forwarded email that fits goes as one');
  t.equal(typeOf('forwarded, 5,000'), 'application/octet-stream', 'one with a longer line goes as a file, base64');
  t.equal(typeOf('forwarded, a NUL'), 'application/octet-stream', 'one with a NUL too');
  t.equal(typeOf('forwarded, last line 999'), 'application/octet-stream', 'and one whose last line, with no line end, is too long');
});

t.test('one character more has no line to go in, and is refused before it is queued', async (t) => {
  t.throws(() => envelope({}, { subject: run(998) }), /998 characters without a space/);
  t.throws(() => envelope({}, { headers: { 'X-Long': run(998, 'v') } }), /998 characters without a space/);
  const ids = `<${run(248, 'i')}@${run(248, 'd')}><${run(248, 'i')}@${run(248, 'd')}>`;
  t.throws(() => envelope({}, { headers: { 'In-Reply-To': ids } }), /998 characters without a space/, 'two message ids, no space');
});
