import type { Envelope } from '@postline/contracts';
import { reopenFailed } from '@postline/ledger';
import t, { type Test } from 'tap';
import { envelope, ledgerPool, ledgerRows } from '../../../test/helpers/mailer.js';
import { handleRecord } from '../src/record-handler.js';
import type { SmtpOutcome } from '../src/smtp-outcome.js';
import type { SmtpSender } from '../src/smtp-sender.js';
import { deps, record } from './handler-deps.js';

type Send = SmtpSender['send'];
type Answer = Awaited<ReturnType<Send>>;
type Reply = SmtpOutcome;

/** A handler around a fake relay answering each send in turn; what went where is kept. */
function fixture(t: Test, answers: (() => Reply)[]) {
  const pool = ledgerPool(t);
  const sends: string[][] = [];
  const produced: { topic: string; value: Envelope }[] = [];
  const send: Send = async (e, rcptTo = []) => {
    sends.push(rcptTo);
    const answer = answers[sends.length - 1];
    if (!answer) throw new Error(`send ${sends.length} was not expected`);
    return { ...answer(), messageId: `<${e.id}@x>` } as Answer;
  };
  const deadLettered: string[] = [];
  const d = deps(pool, send, () => true, {
    produce: async (topic, messages) => {
      for (const m of messages) {
        if (topic === d.config.DEAD_LETTER_TOPIC) deadLettered.push(String(m.key));
        else produced.push({ topic, value: JSON.parse(String(m.value)) });
      }
    },
  });
  /** The retry the last attempt put on the retry topic, due now. */
  const retry = () => {
    const last = produced.at(-1);
    if (last?.topic !== d.config.RETRY_TOPIC) throw new Error('no retry was produced');
    const { notBefore: _, ...due } = last.value;
    return due as Envelope;
  };
  const recipients = async (id: string) =>
    (
      await pool.query<{ address: string; status: string; smtp_response: string | null }>(
        'select address, status, smtp_response from email_recipients where email_id = $1 order by address collate "C"',
        [id],
      )
    ).rows.map((r) => [r.address, r.status, r.smtp_response]);
  const events = async (id: string) =>
    (
      await pool.query<{ id: string; type: string; payload: { data: Record<string, unknown> } }>(
        'select id, type, payload from email_events where email_id = $1 order by seq',
        [id],
      )
    ).rows.map((r): Record<string, unknown> => ({ id: r.id, type: r.type, ...r.payload.data }));
  return { pool, d, sends, produced, deadLettered, retry, recipients, events };
}

const sent =
  (accepted: string[], refusals: { recipient: string; response: string }[] = []) =>
  (): Reply => ({ kind: 'sent', response: '250 2.0.0 queued', accepted, refusals });
const GREYLISTED = '450 4.2.0 Recipient address rejected: Greylisted, try again later';

t.test('a 4xx for some recipients while others are accepted: the retry goes to those only, with the same Message-ID', async (t) => {
  const tag = crypto.randomUUID().slice(0, 8);
  const [kept, gone, later] = [`kept-${tag}@example.net`, `gone-${tag}@example.net`, `Later-${tag}@example.net`];
  const f = fixture(t, [
    sent(
      [kept],
      [
        { recipient: gone, response: '550 5.1.1 User unknown' },
        { recipient: later, response: GREYLISTED },
      ],
    ),
    sent([later]),
  ]);
  t.teardown(() => f.pool.query('delete from suppressions where address = $1', [gone]));
  const e = envelope({}, { to: [kept, gone], cc: later });
  t.same(await handleRecord(f.d, record(e)), { kind: 'done' });
  t.same(f.sends, [[kept, gone, later]]);
  const first = (await ledgerRows(f.pool, [e.id])).get(e.id);
  t.equal(first?.state, 'retrying', 'not final: a recipient is left');
  t.equal(first?.message_id, `<${e.id}@x>`);
  t.same(
    await f.recipients(e.id),
    [
      [later, 'pending', GREYLISTED],
      [gone, 'refused', '550 5.1.1 User unknown'],
      [kept, 'accepted', '250 2.0.0 queued'],
    ],
    'accepted, refused for good, and pending with its reply',
  );
  const afterFirst = await f.events(e.id);
  t.notOk(
    afterFirst.some((x) => x.final),
    'no final event yet',
  );
  t.match(
    afterFirst.filter((x) => x.type !== 'email.queued'),
    [
      { type: 'email.bounced', recipient: gone, bounceType: 'hard' },
      { type: 'email.delivery_delayed', recipient: later, attempt: 1, smtpResponse: GREYLISTED, nextAttemptAt: String },
      { type: 'email.sent', messageId: `<${e.id}@x>` },
    ],
  );
  const due = f.retry();
  t.equal(due.attempt, 1, 'on the retry topic, as attempt 1');

  t.same(await handleRecord(f.d, record(due, '1', { topic: f.d.config.RETRY_TOPIC })), { kind: 'done' });
  t.same(f.sends[1], [later], 'the retry went to the deferred recipient only: neither the accepted nor the refused one again');
  const second = (await ledgerRows(f.pool, [e.id])).get(e.id);
  t.equal(second?.state, 'sent');
  t.equal(second?.attempts, 2);
  t.same(
    (await f.recipients(e.id)).map((r) => r.slice(0, 2)),
    [
      [later, 'accepted'],
      [gone, 'refused'],
      [kept, 'accepted'],
    ],
  );
  const all = await f.events(e.id);
  const sentEvents = all.filter((x) => x.type === 'email.sent');
  t.equal(sentEvents.length, 2, 'an email.sent for each attempt that delivered');
  t.not(sentEvents[0]?.id, sentEvents[1]?.id, 'with ids of their own');
  t.same(
    all.filter((x) => x.final).map((x) => x.type),
    ['email.sent'],
    'one final event: the last email.sent',
  );
  t.same(await handleRecord(f.d, record(due, '1', { topic: f.d.config.RETRY_TOPIC })), { kind: 'done' });
  t.equal(f.sends.length, 2, 'a redelivery of the retry sends nothing');
});

t.test(
  'the recipients left after an acceptance, when the last attempt fails: the email stays sent, they bounce, no dead letter',
  async (t) => {
    for (const [name, last] of [
      ['out of attempts', (): Reply => ({ kind: 'transient', error: 'busy', response: '421 4.3.0 try later', beforeData: true })],
      ['a permanent failure', (): Reply => ({ kind: 'permanent', error: 'rejected', response: '554 5.7.1 message refused' })],
    ] as const) {
      await t.test(name, async (t) => {
        const f = fixture(t, [sent(['one@example.net'], [{ recipient: 'two@example.net', response: GREYLISTED }]), last]);
        const e = envelope({}, { to: ['one@example.net', 'two@example.net'] });
        await handleRecord(f.d, record(e));
        // The next attempt is the last one allowed.
        await f.pool.query('update emails set attempts = $2 where id = $1', [e.id, f.d.config.MAX_ATTEMPTS - 1]);
        t.same(await handleRecord(f.d, record(f.retry(), '1', { topic: f.d.config.RETRY_TOPIC })), { kind: 'done' });
        t.same(f.sends[1], ['two@example.net']);
        t.equal((await ledgerRows(f.pool, [e.id])).get(e.id)?.state, 'sent', 'sent: it reached a recipient');
        t.same(
          (await f.recipients(e.id)).map((r) => r.slice(0, 2)),
          [
            ['one@example.net', 'accepted'],
            ['two@example.net', 'refused'],
          ],
        );
        const events = await f.events(e.id);
        t.match(
          events.filter((x) => x.final),
          [{ type: 'email.bounced', recipient: 'two@example.net', final: true }],
          'the bounce of the recipient left is the final event',
        );
        t.notOk(
          events.some((x) => x.type === 'email.failed'),
          'no email.failed',
        );
        t.same(f.deadLettered, [], 'not dead-lettered: a redrive would reopen a failed email only');
        const { rows } = await f.pool.query('select 1 from suppressions where address = $1', ['two@example.net']);
        t.equal(rows.length, 0, 'a failure of the whole send suppresses no one');
      });
    }
  },
);

t.test('a redrive of a failed email tries its refused recipients again', async (t) => {
  const relaying = '550 5.7.1 Relaying denied';
  const f = fixture(t, [
    (): Reply => ({
      kind: 'permanent',
      error: 'all refused',
      response: relaying,
      refusals: [
        { recipient: 'a@example.net', response: relaying },
        { recipient: 'b@example.net', response: relaying },
      ],
    }),
    sent(['a@example.net', 'b@example.net']),
  ]);
  const e = envelope({}, { to: ['a@example.net', 'b@example.net'] });
  await handleRecord(f.d, record(e));
  t.equal((await ledgerRows(f.pool, [e.id])).get(e.id)?.state, 'failed');
  t.same(
    (await f.recipients(e.id)).map((r) => r[1]),
    ['refused', 'refused'],
  );
  t.equal((await reopenFailed(f.pool, [e.id])).get(e.id), 'queued');
  t.same(
    (await f.recipients(e.id)).map((r) => r[1]),
    ['pending', 'pending'],
    'pending again',
  );
  t.same(await handleRecord(f.d, record(e, '1')), { kind: 'done' });
  t.same(f.sends[1], ['a@example.net', 'b@example.net'], 'sent to both');
  t.equal((await ledgerRows(f.pool, [e.id])).get(e.id)?.state, 'sent');
});
