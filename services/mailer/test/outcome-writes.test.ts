// test-plan: standalone
import t from 'tap';
import { envelope } from '../../../test/helpers/mailer.js';
import { allSuppressed, failedWrite, retryWrite, sentWrite } from '../src/outcome-writes.js';
import { partlySentWrite, restRefusedWrite } from '../src/partial-delivery.js';

t.test('every outcome write has exactly one final event, with deterministic ids', async (t) => {
  const e = envelope({}, { to: ['a@example.net', 'b@example.net'], tags: { campaign: 'x' } });
  const refusal = { recipient: 'b@example.net', response: '550 5.1.1 User unknown' };
  const writes = {
    sent: sentWrite(e, { response: '250 ok', messageId: '<m>', accepted: ['a@example.net'], refusals: [refusal], suppressed: [] }),
    failed: failedWrite(e, { error: 'refused', response: '550 5.1.1 User unknown', refusals: [refusal] }),
    suppressed: allSuppressed(e, ['a@example.net', 'b@example.net']),
  };
  for (const [name, w] of Object.entries(writes)) {
    t.equal(w.events?.filter((x) => x.data.final).length, 1, `${name}: one final event`);
    t.ok(
      w.events?.every((x) => x.data.tags?.campaign === 'x'),
      `${name}: events carry the email's tags`,
    );
  }
  t.same(
    writes.sent.suppress?.map((s) => s.address),
    ['b@example.net'],
    'the hard bounce is suppressed',
  );
  t.same(
    writes.sent.events?.map((x) => [x.type, x.data.recipient ?? null]),
    [
      ['email.bounced', 'b@example.net'],
      ['email.sent', null],
    ],
  );
  const again = sentWrite(e, { response: '250 ok', messageId: '<m>', accepted: ['a@example.net'], refusals: [refusal], suppressed: [] });
  t.same(
    again.events?.map((x) => x.id),
    writes.sent.events?.map((x) => x.id),
    'the same outcome written again has the same event ids (deduplicated in the outbox)',
  );
  const retry = (attempt: number) =>
    retryWrite(e, { attempt, error: 'x', response: '451 later', uncertain: false, nextAttemptAt: new Date() }).events?.[0];
  t.equal(retry(1)?.data.final, undefined, 'a retry is not final');
  t.not(retry(1)?.id, retry(2)?.id, 'each retry is its own event');
});

t.test('an email delivered in parts: a write per part, one final event in all, an uncertain copy said so', async (t) => {
  const e = envelope({}, { to: ['a@example.net', 'b@example.net', 'c@example.net'] });
  const nextAttemptAt = new Date('2026-12-03T12:00:00Z');
  const part = partlySentWrite(e, {
    attempt: 1,
    response: '250 ok',
    messageId: '<m>',
    accepted: ['a@example.net'],
    refusals: [],
    pending: [
      { recipient: 'b@example.net', response: '450 4.2.0 greylisted' },
      { recipient: 'c@example.net', response: null },
    ],
    uncertain: ['c@example.net'],
    suppressed: [],
    nextAttemptAt,
  });
  t.equal(part.state, 'retrying');
  t.equal(part.uncertain, true, 'a copy may have arrived: the email is marked uncertain');
  t.same(
    part.events?.map((x) => [x.type, x.data.recipient ?? null, x.data.final ?? false]),
    [
      ['email.delivery_delayed', 'b@example.net', false],
      ['email.uncertain', 'c@example.net', false],
      ['email.sent', null, false],
    ],
  );
  t.same(
    part.recipients?.map((r) => [r.address, r.status]),
    [
      ['a@example.net', 'accepted'],
      ['b@example.net', 'pending'],
      ['c@example.net', 'pending'],
    ],
  );
  const last = sentWrite(e, {
    response: '250 ok',
    messageId: '<m>',
    accepted: ['b@example.net', 'c@example.net'],
    refusals: [],
    suppressed: [],
  });
  const ids = [...(part.events ?? []), ...(last.events ?? [])].map((x) => x.id);
  t.equal(new Set(ids).size, ids.length, "each part's events have ids of their own");
  t.equal([...(part.events ?? []), ...(last.events ?? [])].filter((x) => x.data.final).length, 1, 'one final event in all');
  const givenUp = restRefusedWrite(e, {
    error: 'busy',
    response: '421 4.3.0 busy',
    refusals: [],
    others: ['b@example.net'],
    suppressed: [],
  });
  t.equal(givenUp.state, 'sent', 'the rest given up: still sent');
  t.match(givenUp.events, [{ type: 'email.bounced', data: { recipient: 'b@example.net', bounceType: 'transient', final: true } }]);
  t.same(givenUp.suppress, [], 'a failure of the whole send suppresses no one');
  t.equal(allSuppressed(e, ['b@example.net'], true).state, 'sent', 'the rest suppressed meanwhile: still sent');
});
