import { queuedEvent } from '@postline/contracts';
import type { ClaimRequest } from '@postline/ledger';
import t from 'tap';
import { countedPool, envelope, ledgerPool, servicePool } from '../../../test/helpers/mailer.js';
import { LedgerBatches } from '../src/ledger-batches.js';

// The real ledger: emails in flight at once share one statement, and each is still claimed and
// recorded on its own terms.

const request = (offset = '1'): ClaimRequest => {
  const e = envelope();
  return {
    id: e.id,
    account: e.account,
    position: { topic: 'emails', partition: 0, offset },
    queued: queuedEvent(e),
    recipients: ['a@example.net'],
  };
};

const sent = (r: ClaimRequest) => ({
  id: r.id,
  account: r.account,
  state: 'sent' as const,
  outcome: {
    smtpResponse: '250 ok',
    messageId: `<${r.id}@test>`,
    recipients: [{ address: 'a@example.net', status: 'accepted' as const, smtpResponse: '250 ok' }],
  },
});

t.test('30 claims at once: fewer statements than emails, and each email gets its own answer', async (t) => {
  const pool = ledgerPool(t);
  const { db, queries } = countedPool(pool);
  const batches = new LedgerBatches(db, 'mailer-a', 60_000, 15_000);
  const requests = Array.from({ length: 30 }, () => request());
  // Three that must not be claimed: one already sent, one held live by another mailer, one held by
  // another mailer whose claim has expired (that one is taken over).
  const [final, busy, expired] = requests as [ClaimRequest, ClaimRequest, ClaimRequest];
  await pool.query(`insert into emails (id, account, state) values ($1, $2, 'sent')`, [final.id, final.account]);
  await pool.query(
    `insert into emails (id, account, state, claimed_by, claim_expires_at) values ($1, $2, 'sending', 'mailer-b', now() + interval '1 minute')`,
    [busy.id, busy.account],
  );
  await pool.query(
    `insert into emails (id, account, state, claimed_by, claim_expires_at) values ($1, $2, 'sending', 'mailer-b', now() - interval '1 second')`,
    [expired.id, expired.account],
  );
  const before = queries();
  const claims = await Promise.all(requests.map((r) => batches.claim(r)));
  t.ok(queries() - before < 15, `30 claims took ${queries() - before} statements`);
  t.same(claims[0], { kind: 'final', state: 'sent' });
  t.equal(claims[1]?.kind, 'busy');
  t.same(
    claims.slice(2).map((c) => c.kind),
    claims.slice(2).map(() => 'claimed'),
    'every other one claimed, the expired claim taken over',
  );
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from emails where id = any($1) and claimed_by = 'mailer-a'`, [
    requests.slice(2).map((r) => r.id),
  ]);
  t.equal(rows[0]?.n, 28, 'the ledger says the same');
});

t.test('one email the statement cannot take does not hold up the others', async (t) => {
  const pool = ledgerPool(t);
  const batches = new LedgerBatches(pool, 'mailer-a', 60_000, 15_000);
  const good = Array.from({ length: 10 }, () => request());
  const poison = request('not-an-offset'); // not a bigint: the statement fails with it in
  const results = await Promise.allSettled([...good, poison].map((r) => batches.claim(r)));
  t.same(
    results.slice(0, 10).map((r) => (r.status === 'fulfilled' ? r.value.kind : r.reason)),
    good.map(() => 'claimed'),
  );
  t.equal(results[10]?.status, 'rejected', 'the bad one fails alone');
});

t.test('outcomes at once: one statement for many; a lost claim writes nothing for that email only', async (t) => {
  const pool = ledgerPool(t);
  const { db, queries } = countedPool(pool);
  const batches = new LedgerBatches(db, 'mailer-a', 60_000, 15_000);
  const requests = Array.from({ length: 20 }, () => request());
  await Promise.all(requests.map((r) => batches.claim(r)));
  const lost = requests[0] as ClaimRequest;
  await pool.query(`update emails set claimed_by = 'mailer-b' where id = $1`, [lost.id]);
  const before = queries();
  const recorded = await Promise.all(requests.map((r) => batches.record(sent(r))));
  t.ok(queries() - before < 10, `20 outcomes took ${queries() - before} statements`);
  t.same(recorded, [false, ...requests.slice(1).map(() => true)]);
  const { rows } = await pool.query<{ id: string; state: string; recipients: number }>(
    `select e.id, e.state, (select count(*)::int from email_recipients r where r.email_id = e.id) as recipients from emails e where e.id = any($1)`,
    [requests.map((r) => r.id)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  t.same(byId.get(lost.id), { id: lost.id, state: 'sending', recipients: 0 }, 'the lost one: untouched');
  t.same(
    requests.slice(1).filter((r) => byId.get(r.id)?.state !== 'sent' || byId.get(r.id)?.recipients !== 1),
    [],
    'the others: sent, with their recipient',
  );
});

t.test('the claim and outcome statements are prepared once per connection, with one generic plan', async (t) => {
  // The service's own pool (createLedgerPool, via servicePool), one connection, so pg_prepared_statements is its.
  const pool = servicePool(t);
  const batches = new LedgerBatches(pool, 'mailer-a', 60_000, 15_000);
  for (let i = 0; i < 8; i++) {
    const r = request();
    t.equal((await batches.claim(r)).kind, 'claimed');
    t.equal(await batches.record(sent(r)), true);
  }
  const { rows } = await pool.query<{ name: string; generic_plans: string; custom_plans: string }>(
    `select name, generic_plans, custom_plans from pg_prepared_statements where name like 'postline.%' order by name`,
  );
  t.same(
    rows.map((r) => ({ name: r.name, generic: Number(r.generic_plans), custom: Number(r.custom_plans) })),
    [
      { name: 'postline.claim-many', generic: 8, custom: 0 },
      { name: 'postline.record-outcomes', generic: 8, custom: 0 },
    ],
  );
});
