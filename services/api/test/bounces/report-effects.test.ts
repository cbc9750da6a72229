// test-plan: standalone

import { verpAddress, verpTag } from '@postline/contracts';
import t from 'tap';
import { arf, dsn } from '../../../../test/helpers/reports.js';
import { parseReport } from '../../src/bounces/parse-report.js';
import { reportEffects, reportRecipients, verpOf } from '../../src/bounces/report-effects.js';

const DOMAIN = 'bounces.example.com';
const ID = '0193a1b2-0000-7000-8000-00000000000a';
const VERP = `bounces+${ID}@${DOMAIN}`;
const KEY = Buffer.from('a key of the ledger, as migration 8 makes one'.padEnd(64, '.'));
/** The Return-Path the mailer gave the copy to `recipient`. */
const tagged = (recipient: string) => verpAddress(ID, DOMAIN, verpTag(KEY, ID, recipient));
const originalHeaders = [
  `Return-Path: <${VERP}>`,
  'From: Shop <orders@example.com>',
  'To: reader@example.net',
  `Message-ID: <${ID}@mail.example.com>`,
  'Subject: Your appointment',
];

/** Whom the email was sent to (as the ledger's email_recipients hold them, normalized). */
const SENT_TO = ['nobody@example.net', 'slow@example.net', 'r@example.net', 'reader@example.net'];

/** What the listener makes of a report: its email, whom it may speak for, and its effects. */
async function effects(raw: string, rcptTo: string[], sentTo: string[] = SENT_TO) {
  const report = await parseReport(Buffer.from(raw));
  if (report.kind === 'malformed') throw new Error(report.reason);
  const verp = verpOf(rcptTo, report.original, DOMAIN);
  const may = verp ? reportRecipients(verp, sentTo, KEY) : { recipients: [], tagged: null };
  const at = new Date('2026-11-30T12:00:00Z');
  return { id: verp?.emailId ?? null, ...reportEffects(report, verp?.emailId ?? 'none', 'acct', at, may.recipients, may.tagged) };
}

t.test('a hard bounce (5.1.1): email.bounced hard with its status, and the address suppressed', async (t) => {
  const raw = dsn({
    to: tagged('nobody@example.net'),
    recipient: 'Nobody@Example.net',
    action: 'failed',
    status: '5.1.1',
    diagnostic: '550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in virtual mailbox table',
    originalHeaders,
  });
  const e = await effects(raw, [tagged('nobody@example.net')]);
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
  const again = await effects(raw, [tagged('nobody@example.net')]);
  t.equal(again.events[0]?.id, e.events[0]?.id, 'the same report twice is the same event (deduplicated in the ledger)');
});

t.test('a soft bounce (delayed, 4.4.7) and a policy refusal (5.7.1): events, no suppression', async (t) => {
  const slow = tagged('slow@example.net');
  const soft = await effects(dsn({ to: slow, recipient: 'slow@example.net', action: 'delayed', status: '4.4.7', originalHeaders }), [slow]);
  t.match(soft.events, [{ type: 'email.bounced', data: { bounceType: 'transient', status: '4.4.7' } }]);
  t.same(soft.suppress, []);
  const r = tagged('r@example.net');
  const policy = await effects(
    dsn({
      to: r,
      recipient: 'r@example.net',
      action: 'failed',
      status: '5.7.1',
      diagnostic: '550 5.7.1 Message rejected as spam by policy',
      originalHeaders,
    }),
    [r],
  );
  t.match(policy.events, [{ type: 'email.bounced', data: { bounceType: 'permanent', status: '5.7.1' } }]);
  t.same(policy.suppress, [], '5.7.x says nothing about the address');
  const delivered = await effects(dsn({ to: r, recipient: 'r@example.net', action: 'delivered', status: '2.0.0', originalHeaders }), [r]);
  t.same(delivered.events, [], 'a positive DSN records nothing');
});

t.test('a complaint (ARF) to a fixed address: the email from the enclosed original, complained, suppressed', async (t) => {
  const e = await effects(
    arf({
      to: `fbl@${DOMAIN}`,
      feedbackType: 'abuse',
      originalRcptTo: 'reader@example.net',
      original: [`Return-Path: <${tagged('reader@example.net')}>`, ...originalHeaders.slice(1), '', 'See you soon.'],
    }),
    [`fbl@${DOMAIN}`],
  );
  t.equal(e.id, ID, "from the original's Return-Path");
  t.match(e.events, [{ type: 'email.complained', data: { emailId: ID, recipient: 'reader@example.net', feedbackType: 'abuse' } }]);
  t.same(
    e.suppress.map((s) => [s.address, s.reason]),
    [['reader@example.net', 'complaint']],
  );
  const byMessageId = arf({
    to: `fbl@${DOMAIN}`,
    feedbackType: 'abuse',
    originalRcptTo: null,
    original: [...originalHeaders.slice(1), '', 'See you soon.'],
  });
  const noRcpt = await effects(byMessageId, [`fbl@${DOMAIN}`], ['reader@example.net']);
  t.equal(noRcpt.id, ID, 'from its Message-ID when there is no Return-Path');
  t.match(noRcpt.events, [{ data: { recipient: 'reader@example.net' } }], "the recipient from the original's To:");
  const ofSeveral = await effects(byMessageId, [`fbl@${DOMAIN}`]);
  t.match(ofSeveral.events, [{ type: 'email.complained', data: { emailId: ID } }], 'of an email with several recipients: a complaint');
  t.notOk(ofSeveral.events[0]?.data.recipient, 'about no recipient: without a tag, any of them could have written it');
  t.same(ofSeveral.suppress, []);
});

t.test('a recipient of an email with several speaks only for itself: the VERP tag names whom a report is about', async (t) => {
  const sentTo = ['reader@example.net', 'colleague@example.net'];
  const mine = tagged('reader@example.net');
  // The reader received its copy with Return-Path `mine`, and writes a DSN about its colleague.
  const aboutOther = dsn({ to: mine, recipient: 'colleague@example.net', action: 'failed', status: '5.1.1', originalHeaders });
  const forged = await effects(aboutOther, [mine], sentTo);
  t.same(forged.events, [], 'nothing recorded about the other recipient');
  t.same(forged.suppress, []);
  t.same(forged.strangers, ['colleague@example.net']);
  const untagged = await effects(
    dsn({ to: VERP, recipient: 'colleague@example.net', action: 'failed', status: '5.1.1', originalHeaders }),
    [VERP],
    sentTo,
  );
  t.same(untagged.events, [], 'nor with the tag left off');
  const guessed = `bounces+${ID}-0123456789abcdef@${DOMAIN}`;
  t.same(
    (
      await effects(
        dsn({ to: guessed, recipient: 'colleague@example.net', action: 'failed', status: '5.1.1', originalHeaders }),
        [guessed],
        sentTo,
      )
    ).events,
    [],
    'nor with a tag of its own making',
  );
  const own = await effects(
    dsn({ to: mine, recipient: 'Reader@example.net', action: 'failed', status: '5.1.1', originalHeaders }),
    [mine],
    sentTo,
  );
  t.same(
    own.suppress.map((x) => x.address),
    ['reader@example.net'],
    'a bounce of the tagged recipient is recorded',
  );
  const redacted = await effects(
    arf({
      to: `fbl@${DOMAIN}`,
      feedbackType: 'abuse',
      originalRcptTo: 'redacted@example.net',
      original: [`Return-Path: <${tagged('colleague@example.net')}>`, ...originalHeaders.slice(1), '', 'x'],
    }),
    [`fbl@${DOMAIN}`],
    sentTo,
  );
  t.match(
    redacted.events,
    [{ type: 'email.complained', data: { recipient: 'colleague@example.net' } }],
    'a complaint whose provider redacted the address is about the tagged recipient',
  );
  t.same(
    redacted.suppress.map((x) => x.address),
    ['colleague@example.net'],
  );
});

t.test('a report speaks only for the addresses the email was sent to (a forged DSN suppresses nobody else)', async (t) => {
  // Whoever received the email knows its VERP address, and can write a DSN naming anyone.
  const forged = await effects(
    dsn({ to: VERP, recipient: 'ceo@victim.example', action: 'failed', status: '5.1.1', originalHeaders }),
    [VERP],
    ['reader@example.net'],
  );
  t.same(forged.events, [], 'no event for an address the email was not sent to');
  t.same(forged.suppress, [], 'and no suppression');
  t.same(forged.strangers, ['ceo@victim.example'], 'it is named as a stranger');
  const strangers = Array.from({ length: 500 }, (_, i) => `customer${i}@victim.example`);
  const real = await effects(
    dsn({ to: VERP, recipient: 'READER@example.net', action: 'failed', status: '5.1.1', originalHeaders, others: strangers }),
    [VERP],
    ['reader@example.net'],
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
    ['reader@example.net'],
  );
  t.match(complaint.events, [{ type: 'email.complained', data: { emailId: ID, feedbackType: 'abuse' } }], 'a complaint is still one');
  t.notOk(complaint.events[0]?.data.recipient, 'without the stranger as its recipient');
  t.same(complaint.suppress, [], 'and suppresses nobody');
  t.same(complaint.strangers, ['ceo@victim.example']);
});

t.test('which email: VERP of our bounce domain only', async (t) => {
  t.equal(verpOf([`bounces+${ID}@other.example`], '', DOMAIN), null, "another domain's VERP names nothing");
  t.same(verpOf([`BOUNCES+${ID.toUpperCase()}@BOUNCES.EXAMPLE.COM`], '', DOMAIN), { emailId: ID, tag: null }, 'case does not matter');
  const tag = verpTag(KEY, ID, 'reader@example.net');
  t.same(verpOf([tagged('reader@example.net').toUpperCase()], '', DOMAIN), { emailId: ID, tag }, 'nor in a tagged one');
  t.equal(tagged('reader@example.net').split('@')[0]?.length, 61, "the local part is within SMTP's 64 characters");
  t.equal(verpTag(KEY, ID, 'READER@example.net'), tag, 'the tag of an address however spelled');
  t.not(verpTag(Buffer.from('another key'), ID, 'reader@example.net'), tag, 'and of this key only');
  t.equal(verpOf(['postmaster@bounces.example.com'], 'Subject: hello', DOMAIN), null);
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
