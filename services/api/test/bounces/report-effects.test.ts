// test-plan: standalone
import t from 'tap';
import { arf, dsn } from '../../../../test/helpers/reports.js';
import { parseReport } from '../../src/bounces/parse-report.js';
import { emailIdOf, reportEffects } from '../../src/bounces/report-effects.js';

const DOMAIN = 'bounces.example.com';
const ID = '0193a1b2-0000-7000-8000-00000000000a';
const VERP = `bounces+${ID}@${DOMAIN}`;
const originalHeaders = [
  `Return-Path: <${VERP}>`,
  'From: Shop <orders@example.com>',
  'To: reader@example.net',
  `Message-ID: <${ID}@mail.example.com>`,
  'Subject: Your appointment',
];

/** Whom the email was sent to (as the ledger's email_recipients hold them, normalized). */
const SENT_TO = new Set(['nobody@example.net', 'slow@example.net', 'r@example.net', 'reader@example.net']);

async function effects(raw: string, rcptTo: string[], sentTo: ReadonlySet<string> = SENT_TO) {
  const report = await parseReport(Buffer.from(raw));
  if (report.kind === 'malformed') throw new Error(report.reason);
  const id = emailIdOf(rcptTo, report.original, DOMAIN);
  return { id, ...reportEffects(report, id ?? 'none', 'acct', new Date('2026-11-30T12:00:00Z'), sentTo) };
}

t.test('a hard bounce (5.1.1): email.bounced hard with its status, and the address suppressed', async (t) => {
  const raw = dsn({
    to: VERP,
    recipient: 'Nobody@Example.net',
    action: 'failed',
    status: '5.1.1',
    diagnostic: '550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in virtual mailbox table',
    originalHeaders,
  });
  const e = await effects(raw, [VERP]);
  t.equal(e.id, ID, 'the email from the VERP address');
  t.equal(e.events.length, 1);
  t.match(e.events[0], {
    type: 'email.bounced',
    account: 'acct',
    data: {
      emailId: ID,
      recipient: 'Nobody@Example.net',
      status: '5.1.1',
      bounceType: 'hard',
      smtpResponse: /^550 5\.1\.1 <nobody@example\.net>: Recipient/,
    },
  });
  t.same(
    e.suppress.map((s) => [s.address, s.reason]),
    [['nobody@example.net', 'hard_bounce']],
  );
  const again = await effects(raw, [VERP]);
  t.equal(again.events[0]?.id, e.events[0]?.id, 'the same report twice is the same event (deduplicated in the ledger)');
});

t.test('a soft bounce (delayed, 4.4.7) and a policy refusal (5.7.1): events, no suppression', async (t) => {
  const soft = await effects(dsn({ to: VERP, recipient: 'slow@example.net', action: 'delayed', status: '4.4.7', originalHeaders }), [VERP]);
  t.match(soft.events, [{ type: 'email.bounced', data: { bounceType: 'transient', status: '4.4.7' } }]);
  t.same(soft.suppress, []);
  const policy = await effects(
    dsn({
      to: VERP,
      recipient: 'r@example.net',
      action: 'failed',
      status: '5.7.1',
      diagnostic: '550 5.7.1 Message rejected as spam by policy',
      originalHeaders,
    }),
    [VERP],
  );
  t.match(policy.events, [{ type: 'email.bounced', data: { bounceType: 'permanent', status: '5.7.1' } }]);
  t.same(policy.suppress, [], '5.7.x says nothing about the address');
  const delivered = await effects(dsn({ to: VERP, recipient: 'r@example.net', action: 'delivered', status: '2.0.0', originalHeaders }), [
    VERP,
  ]);
  t.same(delivered.events, [], 'a positive DSN records nothing');
});

t.test('a complaint (ARF) to a fixed address: the email from the enclosed original, complained, suppressed', async (t) => {
  const e = await effects(
    arf({
      to: `fbl@${DOMAIN}`,
      feedbackType: 'abuse',
      originalRcptTo: 'reader@example.net',
      original: [...originalHeaders, '', 'See you soon.'],
    }),
    [`fbl@${DOMAIN}`],
  );
  t.equal(e.id, ID, "from the original's Return-Path");
  t.match(e.events, [{ type: 'email.complained', data: { emailId: ID, recipient: 'reader@example.net', feedbackType: 'abuse' } }]);
  t.same(
    e.suppress.map((s) => [s.address, s.reason]),
    [['reader@example.net', 'complaint']],
  );
  const noRcpt = await effects(
    arf({ to: `fbl@${DOMAIN}`, feedbackType: 'abuse', originalRcptTo: null, original: [...originalHeaders.slice(1), '', 'See you soon.'] }),
    [`fbl@${DOMAIN}`],
  );
  t.equal(noRcpt.id, ID, 'from its Message-ID when there is no Return-Path');
  t.match(noRcpt.events, [{ data: { recipient: 'reader@example.net' } }], "the recipient from the original's To:");
});

t.test('a report speaks only for the addresses the email was sent to (a forged DSN suppresses nobody else)', async (t) => {
  // Whoever received the email knows its VERP address, and can write a DSN naming anyone.
  const forged = await effects(
    dsn({ to: VERP, recipient: 'ceo@victim.example', action: 'failed', status: '5.1.1', originalHeaders }),
    [VERP],
    new Set(['reader@example.net']),
  );
  t.same(forged.events, [], 'no event for an address the email was not sent to');
  t.same(forged.suppress, [], 'and no suppression');
  t.same(forged.strangers, ['ceo@victim.example'], 'it is named as a stranger');
  const strangers = Array.from({ length: 500 }, (_, i) => `customer${i}@victim.example`);
  const real = await effects(
    dsn({ to: VERP, recipient: 'READER@example.net', action: 'failed', status: '5.1.1', originalHeaders, others: strangers }),
    [VERP],
    new Set(['reader@example.net']),
  );
  t.equal(real.events.length, 1, 'of a real recipient and 500 others, one event');
  t.same(
    real.suppress.map((s) => s.address),
    ['reader@example.net'],
    'its own recipient, however spelled, is still suppressed',
  );
  t.same(real.strangers, strangers, 'the others are strangers');
  const complaint = await effects(
    arf({ to: `fbl@${DOMAIN}`, feedbackType: 'abuse', originalRcptTo: 'ceo@victim.example', original: [...originalHeaders, '', 'x'] }),
    [`fbl@${DOMAIN}`],
    new Set(['reader@example.net']),
  );
  t.match(complaint.events, [{ type: 'email.complained', data: { emailId: ID, feedbackType: 'abuse' } }], 'a complaint is still one');
  t.notOk(complaint.events[0]?.data.recipient, 'without the stranger as its recipient');
  t.same(complaint.suppress, [], 'and suppresses nobody');
  t.same(complaint.strangers, ['ceo@victim.example']);
});

t.test('which email: VERP of our bounce domain only', async (t) => {
  t.equal(emailIdOf([`bounces+${ID}@other.example`], '', DOMAIN), null, "another domain's VERP names nothing");
  t.equal(emailIdOf([`BOUNCES+${ID.toUpperCase()}@BOUNCES.EXAMPLE.COM`], '', DOMAIN), ID, 'case does not matter');
  t.equal(emailIdOf(['postmaster@bounces.example.com'], 'Subject: hello', DOMAIN), null);
});

t.test('malformed reports are named, never guessed at', async (t) => {
  const cases: [string, RegExp][] = [
    ['From: a@b.example\r\nSubject: hi\r\n\r\nplain text', /not a multipart\/report/],
    [
      'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsorry\r\n--x--\r\n',
      /without a message\/delivery-status part/,
    ],
    [
      'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\n--x--\r\n',
      /no recipient with an Action and a Status/,
    ],
    [
      'Content-Type: multipart/report; report-type=disposition-notification; boundary="x"\r\n\r\n--x--\r\n',
      /neither delivery-status nor feedback-report/,
    ],
    [
      'Content-Type: multipart/report; report-type=feedback-report; boundary="x"\r\n\r\n--x\r\nContent-Type: message/feedback-report\r\n\r\nVersion: 1\r\n--x--\r\n',
      /without a Feedback-Type/,
    ],
  ];
  for (const [raw, reason] of cases) t.match(await parseReport(Buffer.from(raw)), { kind: 'malformed', reason }, String(reason));
});
