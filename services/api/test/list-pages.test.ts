import { listEmails } from '@postline/ledger';
import t from 'tap';
import { privateLedgerPool, recordedPool } from '../../../test/helpers/mailer.js';
import { rowsRead, scans, sessionPlan } from '../../../test/helpers/session-plan.js';

// listEmails (GET /v1/emails, Resend's emails.list) on a ledger of its own: every email once over
// the pages, in either direction, however many share a creation time; and a page reads its own
// rows in the plan the API's session runs, not the account's or the ledger's.

const ACCOUNT = 'acct';

t.test('pages: every email once, newest first, whichever cursor, ties by id', async (t) => {
  const pool = await privateLedgerPool(t);
  // 500 emails over 40 distinct microseconds (so many share one), two of every 40 in the same
  // millisecond as their neighbour; another account's and reserved rows interleaved.
  await pool.query(
    `insert into emails (id, account, state, created_at)
     select md5(g::text), $1, 'queued', timestamptz '2026-06-01 00:00:00+00' + (g % 40) * interval '1 microsecond' * 997
     from generate_series(1, 500) g`,
    [ACCOUNT],
  );
  await pool.query(
    `insert into emails (id, account, state, created_at)
     select md5('o' || g), case when g % 2 = 0 then 'other' else $1 end, case when g % 2 = 0 then 'sent' else 'accepting' end,
            timestamptz '2026-06-01 00:00:00+00' + (g % 40) * interval '1 microsecond' * 997
     from generate_series(1, 200) g`,
    [ACCOUNT],
  );
  const expected = (
    await pool.query<{ id: string }>(
      `select id from emails where account = $1 and state <> 'accepting' order by created_at desc, id desc`,
      [ACCOUNT],
    )
  ).rows.map((r) => r.id);
  t.equal(expected.length, 500);

  const forward: string[] = [];
  let cursor: { after: string } | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const page = await listEmails(pool, ACCOUNT, 7, cursor);
    if (!page) throw new Error('a cursor from a page was not found');
    forward.push(...page.emails.map((e) => e.id));
    if (!page.hasMore) break;
    cursor = { after: page.emails.at(-1)?.id as string };
  }
  t.same(forward, expected, 'forward by after: the whole list, once, in order');

  const backward: string[] = [];
  let before: { before: string } = { before: expected.at(-1) as string };
  for (let pages = 0; pages < 100; pages++) {
    const page = await listEmails(pool, ACCOUNT, 9, before);
    if (!page) throw new Error('a cursor from a page was not found');
    backward.unshift(...page.emails.map((e) => e.id));
    if (!page.hasMore) break;
    before = { before: page.emails[0]?.id as string };
  }
  t.same(backward, expected.slice(0, -1), 'back by before from the oldest: the rest of the list, once, in order');
  t.equal(await listEmails(pool, 'other', 5, { after: expected[0] as string }), null, "another account's email is no cursor");
});

t.test("a page reads its own rows: the account's index in the API's session plan", async (t) => {
  const pool = await privateLedgerPool(t);
  await pool.query(
    `insert into emails (id, account, state, created_at)
     select md5(g::text), case when g % 10 = 0 then $1 else 'a' || (g % 7) end, 'sent', now() - g * interval '1 second'
     from generate_series(1, 50000) g`,
    [ACCOUNT],
  );
  await pool.query('analyze emails');
  const { rows } = await pool.query<{ id: string }>(
    'select id from emails where account = $1 order by created_at desc, id desc offset 2000 limit 1',
    [ACCOUNT],
  );
  const middle = rows[0]?.id as string;

  for (const cursor of [null, { after: middle }, { before: middle }]) {
    const { db, statements } = recordedPool(pool);
    const page = await listEmails(db, ACCOUNT, 20, cursor);
    t.equal(page?.emails.length, 20);
    const pageStatement = statements.find((s) => /order by/.test(s.text));
    if (!pageStatement) throw new Error('no page statement recorded');
    const { mode, plan } = await sessionPlan(pool, pageStatement.text, pageStatement.values);
    t.equal(mode, 'force_generic_plan');
    // The page, one more to tell whether there are more, and one more to end the last creation
    // time's ties (the index orders by time; ids order the rows of one time after it, in memory).
    const read = rowsRead(plan, 'emails');
    t.ok(read <= 22, `${JSON.stringify(cursor)}: ${read} rows of emails read for a page of 20 (of 5,000 the account has, 50,000 in all)`);
    t.same(scans(plan), ['Index Scan on emails'], `${JSON.stringify(cursor)}: ${scans(plan).join(', ')}`);
  }
});
