// test-plan: standalone
import t from 'tap';
import { envelope } from '../../../test/helpers/mailer.js';
import { allSuppressed, failedWrite, retryWrite, sentWrite } from '../src/outcome-writes.js';

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
