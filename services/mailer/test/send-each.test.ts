// test-plan: standalone
import t from 'tap';
import { sendEach } from '../src/send-each.js';
import type { SmtpOutcome } from '../src/smtp-outcome.js';

/** A server that answers each recipient's transaction as `answers` says (accepted when absent). */
function server(answers: Record<string, SmtpOutcome>) {
  const tried: string[] = [];
  const send = async (r: string): Promise<SmtpOutcome> => {
    tried.push(r);
    return answers[r] ?? { kind: 'sent', response: `250 ok ${r}`, accepted: [r], refusals: [] };
  };
  return { tried, send };
}
const refused = (r: string, response: string): SmtpOutcome => ({
  kind: response.startsWith('5') ? 'permanent' : 'transient',
  error: 'refused',
  response,
  refusals: [{ recipient: r, response }],
});

t.test('every recipient accepted: sent, with the last reply', async (t) => {
  const s = server({});
  t.same(await sendEach(['a', 'b'], s.send), { kind: 'sent', response: '250 ok b', accepted: ['a', 'b'], refusals: [] });
});

t.test('a refusal at RCPT is about its recipient: the next one is tried', async (t) => {
  const s = server({ a: refused('a', '550 5.1.1 unknown'), c: refused('c', '450 4.2.0 greylisted') });
  t.same(await sendEach(['a', 'b', 'c'], s.send), {
    kind: 'sent',
    response: '250 ok b',
    accepted: ['b'],
    refusals: [
      { recipient: 'a', response: '550 5.1.1 unknown' },
      { recipient: 'c', response: '450 4.2.0 greylisted' },
    ],
  });
  t.same(s.tried, ['a', 'b', 'c']);
});

t.test('every recipient refused: transient when one of them was a 4xx, else permanent', async (t) => {
  const soft = await sendEach(['a', 'b'], server({ a: refused('a', '550 5.1.1 unknown'), b: refused('b', '452 4.5.3 later') }).send);
  t.match(soft, { kind: 'transient', response: '452 4.5.3 later', beforeData: true, refusals: [{ recipient: 'a' }, { recipient: 'b' }] });
  const hard = await sendEach(['a', 'b'], server({ a: refused('a', '550 5.1.1 unknown'), b: refused('b', '553 5.1.3 bad') }).send);
  t.match(hard, { kind: 'permanent', response: '553 5.1.3 bad', refusals: [{ recipient: 'a' }, { recipient: 'b' }] });
});

t.test('a failure of the transaction before any acceptance is the whole email’s, and nothing more is tried', async (t) => {
  for (const failure of [
    { kind: 'unavailable', error: 'ECONNREFUSED' },
    { kind: 'transient', error: '421', response: '421 4.3.2 shutting down', beforeData: true },
    { kind: 'permanent', error: '554', response: '554 5.6.0 message refused' },
    { kind: 'uncertain', error: 'connection lost after DATA' },
  ] as SmtpOutcome[]) {
    const s = server({ a: failure });
    t.same(await sendEach(['a', 'b'], s.send), failure, failure.kind);
    t.same(s.tried, ['a'], `${failure.kind}: b is not tried`);
  }
});

t.test('a failure after an acceptance: sent, and the recipients left are refusals with no reply (retried)', async (t) => {
  const s = server({ b: { kind: 'transient', error: '421', response: '421 4.3.2 shutting down', beforeData: true } });
  t.same(await sendEach(['a', 'b', 'c'], s.send), {
    kind: 'sent',
    response: '250 ok a',
    accepted: ['a'],
    refusals: [
      { recipient: 'b', response: '421 4.3.2 shutting down' },
      { recipient: 'c', response: null },
    ],
  });
  t.same(s.tried, ['a', 'b']);
  const refusedData = server({ b: { kind: 'permanent', error: '554', response: '554 5.7.1 spam' } });
  t.match(
    await sendEach(['a', 'b', 'c'], refusedData.send),
    {
      refusals: [
        { recipient: 'b', response: '554 5.7.1 spam' },
        { recipient: 'c', response: null },
      ],
    },
    "a 5xx to one recipient's DATA is its own refusal, for good; the next is retried",
  );
  const lost = server({ b: { kind: 'uncertain', error: 'connection lost after DATA' } });
  t.match(
    await sendEach(['a', 'b', 'c'], lost.send),
    { kind: 'sent', accepted: ['a'], uncertain: ['b'] },
    'the one whose connection broke after DATA is named: its copy may have arrived',
  );
});
