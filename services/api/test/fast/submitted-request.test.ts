// test-plan: standalone
import { simpleParser } from 'mailparser';
import t from 'tap';
import { submittedRequest } from '../../src/submission/submitted-request.js';

const allowX = (name: string) => name.toLowerCase().startsWith('x-');

const message = (headers: string) =>
  simpleParser(`${headers}\r\nSubject: Hi\r\nMessage-ID: <m1@client.example>\r\nDate: Mon, 1 Jan 2001 00:00:00 +0000\r\n\r\nBody\r\n`);

t.test('the envelope decides the recipients: header To/Cc that are recipients, every other recipient Bcc', async (t) => {
  const mail = await message(
    'From: "Doe, Jane" <jane@example.com>\r\nTo: a@example.net, not-a-recipient@example.net\r\nCc: b@example.net\r\nX-Ref: 7\r\nReceived: forged',
  );
  const s = submittedRequest(mail, ['a@example.net', 'B@example.net', 'c@example.net'], allowX);
  t.same(s.bodies, [
    {
      from: '"Doe, Jane" <jane@example.com>',
      subject: 'Hi',
      to: ['a@example.net'],
      cc: ['b@example.net'],
      bcc: ['c@example.net'],
      text: 'Body\n',
      headers: { 'X-Ref': '7' },
    },
  ]);
  t.ok(s.dropped.includes('received') && s.dropped.includes('date') && s.dropped.includes('message-id'), 'ours to set, or not allowed');
  t.match(s.idempotencyKey, /^smtp:/);
});

t.test('a Bcc-only message is split: each recipient gets it addressed to itself alone', async (t) => {
  const mail = await message('From: app@example.com\r\nTo: undisclosed-recipients:;');
  const s = submittedRequest(mail, ['a@example.net', 'b@example.net'], allowX);
  t.same(
    s.bodies.map((b) => [b.to, b.bcc]),
    [
      ['a@example.net', undefined],
      ['b@example.net', undefined],
    ],
  );
});

t.test('a name with quotes and backslashes survives the round trip to our strict parser', async (t) => {
  const mail = await message('From: "A \\"B\\" \\\\ C" <x@example.com>\r\nTo: a@example.net');
  t.equal(submittedRequest(mail, ['a@example.net'], allowX).bodies[0]?.from, '"A \\"B\\" \\\\ C" <x@example.com>');
});
