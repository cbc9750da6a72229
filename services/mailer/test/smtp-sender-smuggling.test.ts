// test-plan: standalone
import { connect } from 'node:net';
import { simpleParser } from 'mailparser';
import t from 'tap';
import { dkimVerify, publishedDkimKeys } from '../../../test/helpers/dkim-verify.js';
import { lenientSmtpRecorder } from '../../../test/helpers/lenient-smtp-recorder.js';
import { envelope, testSmtpSender } from '../../../test/helpers/mailer.js';

// SMTP smuggling (SEC Consult, 2023; CVE-2023-51764/51765/51766): a message whose body holds a dot
// alone on a line, ended by a bare LF or CR, is read by a lenient receiver as the end of DATA, and
// what follows as new commands: a second transaction, from any sender, out of our relay's IP. What a
// client writes in a text, an HTML body, a text attachment or a template's output must reach the
// wire with CRLF line ends only and every leading dot doubled. Checked on the bytes a receiver as
// lenient as the exploited ones recorded, signed with DKIM too (the signature is written over the
// same bytes).

const SMUGGLED =
  'MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@target.example>\r\nDATA\r\nFrom: ceo@bank.example\r\n\r\nwire the money\r\n';
// Every line end a lenient receiver takes around its dot, then the smuggled transaction.
const ENDS = ['\n.\r\n', '\r\n.\n', '\n.\n', '\r.\r', '\r.\r\n', '\r\n.\r', '\r\n.\r\n'];
const payload = (end: string) => `hello${end}${SMUGGLED}.\r\nQUIT\r\n`;

t.test('a body that ends DATA early on a lenient receiver goes out as one message, its dots and line ends made safe', async (t) => {
  const recorder = await lenientSmtpRecorder(t);
  const { keyring, dns } = await publishedDkimKeys(t, ['example.com.s1.pem']);
  const sender = testSmtpSender(`smtp://127.0.0.1:${recorder.port}`, { dkim: keyring, messageIdDomain: 'mail.example.com' });
  t.teardown(() => sender.close());
  const asText = (s: string) => Buffer.from(s).toString('base64');
  const emails = ENDS.flatMap((end, i) => [
    envelope({}, { subject: `text ${i}`, text: payload(end) }),
    envelope({}, { subject: `html ${i}`, html: `<p>${payload(end)}</p>` }),
    // Non-ASCII: nodemailer picks quoted-printable (or base64) here, not 7bit.
    envelope({}, { subject: `utf-8 ${i}`, text: `Grüße ${payload(end)}` }),
    envelope(
      {},
      {
        subject: `attachment ${i}`,
        text: 'see the file',
        attachments: [{ filename: 'a.txt', contentType: 'text/plain', content: asText(payload(end)) }],
      },
    ),
    // A forwarded email goes out unencoded (RFC 2046 5.2.1): typed by its .eml name here.
    envelope(
      {},
      {
        subject: `forwarded ${i}`,
        text: 'forwarded',
        attachments: [{ filename: 'fwd.eml', content: asText(`Subject: inner\r\n\r\n${payload(end)}`) }],
      },
    ),
  ]);
  // A body that starts with the dot, and one that is only a dot.
  emails.push(envelope({}, { subject: 'leading dot', text: `.\r\n${SMUGGLED}` }), envelope({}, { subject: 'only a dot', text: '.' }));
  for (const e of emails) t.match(await sender.send(e), { kind: 'sent' }, e.email.subject);

  t.equal(recorder.transactions.length, emails.length, 'one transaction for each email, no more');
  t.notOk(
    recorder.transactions.some((x) => x.mailFrom.includes('bank.example') || x.rcptTo.some((r) => r.includes('target.example'))),
    'no smuggled transaction',
  );
  const ours = ['EHLO', 'MAIL', 'RCPT', 'DATA', 'RSET', 'NOOP', 'QUIT'];
  t.same(
    recorder.commands.filter((c) => !ours.includes(c.slice(0, 4).toUpperCase())),
    [],
    'no line of a body was read as a command',
  );
  const unstuffed = recorder.transactions.map((x) => Buffer.from(x.data.toString('latin1').replace(/(^|\r\n)\./g, '$1'), 'latin1'));
  const signatures = await dkimVerify(dns.server, unstuffed);
  t.same(
    signatures.flatMap((sigs, i) => (sigs.length === 1 && sigs[0]?.ok ? [] : [`${emails[i]?.email.subject}: ${JSON.stringify(sigs)}`])),
    [],
    'each verifies with dkimpy: signed over the bytes that went out',
  );
  for (const [i, x] of recorder.transactions.entries()) {
    const data = x.data.toString('latin1');
    const subject = emails[i]?.email.subject;
    t.same(data.match(/\r(?!\n)|(?<!\r)\n/g) ?? [], [], `${subject}: no CR or LF alone`);
    t.notOk(/(^|\r\n)\.(\r\n|$)/.test(data), `${subject}: no dot alone on a line`);
    // The receiver's side of RFC 5321 4.5.2: a line's first dot removed when the line starts with two.
    const mail = await simpleParser(unstuffed[i] as Buffer);
    t.equal(mail.subject, subject, `${subject}: the message parses`);
    // Both: an HTML-only email also gets a text part, where `<ceo@…>` reads as a tag and is dropped.
    const body = `${mail.text ?? ''}${mail.html || ''}`;
    const attached = mail.attachments[0]?.content.toString() ?? '';
    if (subject === 'only a dot') t.equal(mail.text?.trim(), '.', 'the dot is the body');
    else t.match(`${body}${attached}`, /MAIL FROM:<ceo@bank\.example>/, `${subject}: the "commands" are body text`);
  }
});

t.test('the recorder is as lenient as claimed: the same bytes written raw smuggle a second transaction', async (t) => {
  const recorder = await lenientSmtpRecorder(t);
  for (const end of ENDS) {
    // Read (and drop) the replies, or the socket never sees the server's end.
    const socket = connect(recorder.port, '127.0.0.1').on('error', () => {});
    socket.resume();
    t.teardown(() => socket.destroy());
    socket.write(`EHLO raw\r\nMAIL FROM:<sender@example.com>\r\nRCPT TO:<rcpt@example.net>\r\nDATA\r\n${payload(end)}`);
    await new Promise((r) => socket.on('close', r));
  }
  t.same(
    recorder.transactions.map((x) => x.mailFrom),
    ENDS.flatMap(() => ['sender@example.com', 'ceo@bank.example']),
    'each line end smuggles one, and QUIT after it is read as a command',
  );
});
