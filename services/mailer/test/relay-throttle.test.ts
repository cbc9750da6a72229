// test-plan: standalone
import t from 'tap';
import { RelayThrottle, throttleReason } from '../src/relays/relay-throttle.js';
import type { SmtpOutcome } from '../src/smtp-outcome.js';

const reply = (response: string): SmtpOutcome => ({ kind: 'transient', error: response, response, beforeData: true });
const sent: SmtpOutcome = { kind: 'sent', response: '250 ok', accepted: ['a@example.net'], refusals: [] };

t.test('which replies say "slow down"', async (t) => {
  const cases: [SmtpOutcome, boolean, string | null][] = [
    [reply('421 4.7.0 Too many connections'), true, 'reply 421'],
    [reply('421 4.3.2 Service shutting down'), false, null],
    [reply('451 4.3.0 Temporary server error'), false, 'reply 451'],
    [reply('451 4.7.1 Please try again later'), false, 'reply 451'],
    [reply('454 4.7.0 Throttling: Maximum sending rate exceeded.'), false, 'reply 454'],
    [reply('450 4.2.0 Rate limit exceeded, slow down'), false, 'throttling text'],
    [reply('450 4.2.1 Mailbox busy'), false, null],
    [reply('452 4.3.1 Insufficient system storage'), false, null],
    [{ kind: 'permanent', error: '550', response: '550 5.1.1 unknown user' }, false, null],
    [{ kind: 'unavailable', error: 'ECONNREFUSED' }, true, 'connection refused'],
    [{ kind: 'unavailable', error: 'ECONNREFUSED' }, false, null],
    // A transaction per recipient: accepted for one, the relay throttled the next.
    [
      { ...sent, refusals: [{ recipient: 'b@example.net', response: '454 4.7.0 Throttling: Maximum sending rate exceeded.' }] },
      false,
      'reply 454',
    ],
    [{ ...sent, refusals: [{ recipient: 'b@example.net', response: '421 4.7.0 Too many connections' }] }, false, 'reply 421'],
    [{ ...sent, refusals: [{ recipient: 'b@example.net', response: '450 4.2.0 Greylisted' }] }, false, null],
    [{ ...sent, refusals: [{ recipient: 'b@example.net', response: null }] }, true, null],
  ];
  for (const [outcome, recentlyOk, reason] of cases)
    t.equal(throttleReason(outcome, recentlyOk), reason, `${'response' in outcome ? outcome.response : outcome.kind} → ${reason}`);
});

t.test('unpaced until throttled; a cut halves rate and concurrency once per second; success adds back, capped', async (t) => {
  const cuts: string[] = [];
  const th = new RelayThrottle(null, 8, (reason) => cuts.push(reason));
  t.equal(th.rate, null);
  t.equal(th.reserve(0), 0, 'no pacing');
  for (let i = 0; i < 30; i++) th.begin(500 + i * 10); // 30 sends started within a second
  th.end(reply('454 4.7.0 Throttling'), 900);
  t.equal(th.rate, 15, 'half the rate achieved');
  t.equal(th.concurrencyLimit, 4);
  for (let i = 0; i < 10; i++) th.end(reply('454 4.7.0 Throttling'), 950);
  t.same(cuts, ['reply 454'], 'the replies of one burst are one cut');
  th.end(sent, 2_000);
  t.equal(th.rate, 18, '+3/s (a tenth of the 30/s cut) after a second of success');
  t.equal(th.concurrencyLimit, 5);
  th.end(sent, 2_500);
  t.equal(th.rate, 18, 'at most once a second');
  for (let i = 0; i < 100; i++) th.end(reply('454 4.7.0 Throttling'), 3_000 + i * 1_000);
  t.equal(th.rate, 1, 'never below 1/s');
  t.equal(th.concurrencyLimit, 1);

  const capped = new RelayThrottle(14, 8);
  t.equal(capped.rate, 14, 'a configured maxRate paces from the start');
  capped.end(sent, 10_000);
  t.equal(capped.rate, 14, 'and is never exceeded');
  t.equal(capped.reserve(20_000), 0);
  t.equal(Math.round(capped.reserve(20_000)), Math.round(1_000 / 14), 'slots 1/14 s apart');
  capped.unreserve();
  t.equal(Math.round(capped.reserve(20_000)), Math.round(1_000 / 14), 'a slot given back is reused');
});

t.test('the rate counts recipients: an email to five takes five slots, as SES counts its quota', async (t) => {
  const th = new RelayThrottle(10, 8);
  t.equal(th.reserve(0, 5), 0, 'the first email goes now');
  t.equal(th.reserve(0, 1), 500, 'the next one after its five recipients at 10/s');
  th.unreserve(1);
  th.unreserve(5);
  t.equal(th.reserve(0, 1), 0, 'both given back');
  // The first cut halves the rate achieved: ten recipients started in the last second, not two emails.
  const cut = new RelayThrottle(null, 8);
  cut.begin(0, 5);
  cut.begin(100, 5);
  cut.end(reply('454 4.7.0 Throttling'), 200);
  t.equal(cut.rate, 5, 'half of the ten recipients a second achieved');
});

t.test('offered 50/s against a 20/s quota, over 120 simulated seconds: the accepted rate settles in 12-21/s', async (t) => {
  const th = new RelayThrottle(null, 8);
  const accepted: number[] = [];
  let refused = 0;
  let now = 0;
  const offers = 50 * 120;
  for (let i = 0; i < offers; i++) {
    const offeredAt = i * 20;
    now = Math.max(offeredAt, now);
    now += th.reserve(now);
    th.begin(now);
    const inLastSecond = accepted.filter((a) => a > now - 1_000).length;
    if (inLastSecond >= 20) {
      refused++;
      th.end(reply('454 4.7.0 Throttling'), now);
    } else {
      accepted.push(now);
      th.end(sent, now);
    }
  }
  const end = now;
  const lastMinute = accepted.filter((a) => a > end - 60_000).length / 60;
  t.ok(lastMinute >= 12 && lastMinute <= 21, `${lastMinute.toFixed(1)}/s accepted over the last minute`);
  t.ok(refused / (refused + accepted.length) < 0.05, `${refused} throttling replies of ${refused + accepted.length} tries`);
});
