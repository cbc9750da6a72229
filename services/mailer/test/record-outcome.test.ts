import { emailEvent, queuedEvent } from '@postline/contracts';
import { claimMany, type Outcome, recordOutcomes } from '@postline/ledger';
import type pg from 'pg';
import t from 'tap';
import { countedPool, envelope, ledgerPool } from '../../../test/helpers/mailer.js';

// The real ledger. recordOutcomes is one statement: what it writes must still be all or nothing.

async function claimed(pool: pg.Pool, mailerId: string) {
  const e = envelope({}, { to: ['a@example.net', 'b@example.net'] });
  const position = { topic: 'emails', partition: 0, offset: '1' };
  const [c] = await claimMany(pool, mailerId, 60_000, [
    { id: e.id, account: e.account, position, queued: queuedEvent(e), recipients: ['a@example.net', 'b@example.net'] },
  ]);
  if (c?.kind !== 'claimed') throw new Error(`not claimed: ${c?.kind}`);
  return e;
}

/** A sent outcome with a refused hard bounce: recipients, a suppression and events to write. */
function outcome(e: ReturnType<typeof envelope>): Outcome {
  const at = new Date();
  const bounce = '550 5.1.1 no such user';
  return {
    smtpResponse: '250 2.0.0 queued',
    messageId: `<${e.id}@test>`,
    recipients: [
      { address: 'a@example.net', status: 'accepted', smtpResponse: '250 2.0.0 queued' },
      { address: 'b@example.net', status: 'refused', smtpResponse: bounce },
    ],
    suppress: [{ address: 'b@example.net', reason: 'hard_bounce', smtpResponse: bounce }],
    events: [
      emailEvent(e.account, 'email.bounced', { emailId: e.id, recipient: 'b@example.net', smtpResponse: bounce, bounceType: 'hard' }, at),
      emailEvent(e.account, 'email.sent', { emailId: e.id, smtpResponse: '250 2.0.0 queued', final: true }, at),
    ],
  };
}

async function written(pool: pg.Pool, id: string, account: string) {
  const q = async (sql: string, params: unknown[]) => (await pool.query<{ n: number }>(sql, params)).rows[0]?.n;
  return {
    state: (await pool.query<{ state: string }>('select state from emails where id = $1', [id])).rows[0]?.state,
    recipients: await q('select count(*)::int as n from email_recipients where email_id = $1', [id]),
    suppressions: await q('select count(*)::int as n from suppressions where email_id = $1 and account = $2', [id, account]),
    events: (
      await pool.query<{ type: string }>(`select type from email_events where email_id = $1 and type <> 'email.queued' order by seq`, [id])
    ).rows.map((r) => r.type),
  };
}

t.test('with our claim: state, recipients, the suppression and the events, in one round trip', async (t) => {
  const pool = ledgerPool(t);
  const e = await claimed(pool, 'mailer-a');
  const { db, queries } = countedPool(pool);
  t.equal((await recordOutcomes(db, 'mailer-a', [{ id: e.id, account: e.account, state: 'sent', outcome: outcome(e) }]))[0], true);
  t.equal(queries(), 1, 'one statement');
  const w = await written(pool, e.id, e.account);
  t.equal(w.state, 'sent');
  t.equal(w.recipients, 2, 'the accepted and the refused recipient');
  t.equal(w.suppressions, 1, 'the hard bounce is suppressed');
  t.same(w.events, ['email.bounced', 'email.sent'], 'the events, in the order they were built');
});

t.test('the claim lost to another mailer: false, and nothing is written', async (t) => {
  const pool = ledgerPool(t);
  const e = await claimed(pool, 'mailer-a');
  await pool.query(`update emails set claimed_by = 'mailer-b' where id = $1`, [e.id]);
  t.equal((await recordOutcomes(pool, 'mailer-a', [{ id: e.id, account: e.account, state: 'sent', outcome: outcome(e) }]))[0], false);
  const w = await written(pool, e.id, e.account);
  t.equal(w.state, 'sending', 'still the other mailer’s');
  t.equal(w.recipients, 0, 'no recipients');
  t.equal(w.suppressions, 0, 'no suppression');
  t.same(w.events, [], 'no events');
});

t.test('the same outcome written twice (a redelivery racing its own claim): the second is refused', async (t) => {
  const pool = ledgerPool(t);
  const e = await claimed(pool, 'mailer-a');
  t.equal((await recordOutcomes(pool, 'mailer-a', [{ id: e.id, account: e.account, state: 'sent', outcome: outcome(e) }]))[0], true);
  t.equal(
    (await recordOutcomes(pool, 'mailer-a', [{ id: e.id, account: e.account, state: 'sent', outcome: outcome(e) }]))[0],
    false,
    'the claim was cleared by the first',
  );
  t.same((await written(pool, e.id, e.account)).events, ['email.bounced', 'email.sent'], 'events once');
});
