import t, { type Test } from 'tap';
import { buildApi, email } from '../../../test/helpers/api.js';
import { uniqueName } from '../../../test/helpers/env.js';
import { ledgerPool } from '../../../test/helpers/mailer.js';
import { resendSdk } from '../../../test/helpers/resend-sdk.js';

// GET /v1/emails and Resend's emails.list over the real API and ledger. Each test has accounts of
// its own (the ledger is shared with every other file of the run), so its pages are its emails.

interface Listed {
  object: 'list';
  hasMore: boolean;
  data: { id: string; status: string; createdAt: string; recipients: { address: string; status: string }[] }[];
}

async function setUp(t: Test) {
  const [name, otherName] = [uniqueName('list'), uniqueName('other')];
  const [key, otherKey] = [`${name}-secret`, `${otherName}-secret`];
  const { app } = await buildApi(t, { API_KEYS: `${name}:${key},${otherName}:${otherKey}` });
  const pool = ledgerPool(t);
  const headers = { authorization: `Bearer ${key}` };
  const post = async (as = headers) => {
    const res = await app.inject({ method: 'POST', url: '/v1/emails', headers: as, payload: email() });
    t.equal(res.statusCode, 202);
    return res.json().id as string;
  };
  const list = (query: string, as = headers) => app.inject({ method: 'GET', url: `/v1/emails${query}`, headers: as });
  return { app, pool, headers, otherHeaders: { authorization: `Bearer ${otherKey}` }, post, list, name, key };
}

/**
 * Seven emails with known creation times, newest first: two share a millisecond (a microsecond
 * apart), two share the very same microsecond (ordered by id then).
 */
async function seven(pool: ReturnType<typeof ledgerPool>, post: () => Promise<string>) {
  const ids = [];
  for (let i = 0; i < 7; i++) ids.push(await post());
  const times = [
    '2026-03-01 10:00:00.500000+00',
    '2026-03-01 10:00:00.123789+00',
    '2026-03-01 10:00:00.123456+00',
    '2026-03-01 09:00:00+00',
    '2026-03-01 09:00:00+00',
    '2026-02-01 00:00:00+00',
    '2026-01-01 00:00:00+00',
  ];
  // The same microsecond: the larger id is listed first.
  const [a, b] = [ids[3] as string, ids[4] as string].sort().reverse();
  const order = [ids[0], ids[1], ids[2], a, b, ids[5], ids[6]] as string[];
  for (const [i, id] of order.entries()) await pool.query('update emails set created_at = $2 where id = $1', [id, times[i]]);
  return order;
}

t.test('GET /v1/emails: newest first, a page at a time, by either cursor', async (t) => {
  const { pool, post, list, otherHeaders, name } = await setUp(t);
  const order = await seven(pool, post);
  // Reserved and never acknowledged by Kafka: not an email yet.
  await pool.query(`insert into emails (id, account, state, created_at) values (gen_random_uuid()::text, $1, 'accepting', now())`, [name]);
  await pool.query(
    `insert into email_recipients (email_id, address, status) values ($1, 'b@example.net', 'accepted'), ($1, 'a@example.net', 'refused')`,
    [order[1]],
  );

  const whole = await list('');
  t.equal(whole.statusCode, 200);
  const all = whole.json() as Listed;
  t.same(
    all.data.map((e) => e.id),
    order,
    'every email once, newest first (20 by default), the reserved row not among them',
  );
  t.equal(all.hasMore, false);
  t.equal(all.object, 'list');
  t.match(all.data[1], {
    status: 'queued',
    createdAt: '2026-03-01T10:00:00.123Z',
    recipients: [{ address: 'a@example.net', status: 'refused' }, { address: 'b@example.net' }],
  });
  t.same(all.data[0]?.recipients, [], 'no recipients before a mailer handled it');

  // Forward by `after`, two at a time: the cursor is the last id of the page before.
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = (await list(`?limit=2${after ? `&after=${after}` : ''}`)).json() as Listed;
    pages.push(page.data.map((e) => e.id));
    after = page.data.at(-1)?.id;
    t.equal(page.hasMore, pages.length < 4, `page ${pages.length}: has more until the last`);
    if (!page.hasMore) break;
  }
  t.same(pages, [order.slice(0, 2), order.slice(2, 4), order.slice(4, 6), order.slice(6)], 'the pages together are the list, none twice');

  // After the one of the two in a millisecond: its millisecond's other one is next (a bound
  // rounded to the millisecond would skip it).
  t.same(
    ((await list(`?after=${order[1]}&limit=1`)).json() as Listed).data.map((e) => e.id),
    [order[2]],
  );
  // Back by `before`: the page just newer than the cursor, still newest first.
  const back = (await list(`?before=${order[4]}&limit=2`)).json() as Listed;
  t.same(
    back.data.map((e) => e.id),
    [order[2], order[3]],
  );
  t.equal(back.hasMore, true, 'newer ones remain');
  const first = (await list(`?before=${order[2]}&limit=5`)).json() as Listed;
  t.same([first.data.map((e) => e.id), first.hasMore], [order.slice(0, 2), false]);
  t.same(((await list(`?after=${order[6]}`)).json() as Listed).data, [], 'nothing older than the oldest');

  // Another key sees none of them, and may not page from one of them.
  const other = await list('', otherHeaders);
  t.same((other.json() as Listed).data, []);
  const foreign = await list(`?after=${order[0]}`, otherHeaders);
  t.equal(foreign.statusCode, 400);
  t.equal(foreign.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.match(foreign.json(), { code: 'EMAIL_ERR_VALIDATION', errors: [{ path: '/after', message: /names no email of this API key/ }] });
  // One purged by retention is as unknown.
  await pool.query('delete from emails where id = $1', [order[6]]);
  t.match((await list(`?before=${order[6]}`)).json(), { errors: [{ path: '/before' }] });
});

t.test('GET /v1/emails: bounded pages, one cursor, the stuck audit beside it', async (t) => {
  const { list } = await setUp(t);
  for (const limit of ['0', '101', 'x', '-1', '2.5']) {
    const res = await list(`?limit=${limit}`);
    t.match([res.statusCode, res.json()], [400, { code: 'EMAIL_ERR_VALIDATION', errors: [{ path: '/limit' }] }], `limit=${limit}`);
  }
  t.equal((await list('?limit=100')).statusCode, 200);
  t.match((await list('?after=nope')).json(), { errors: [{ path: '/after', message: 'must be an email id' }] });
  const id = '0193a1b2-0000-7000-8000-000000000000';
  t.match((await list(`?after=${id}&before=${id}`)).json(), { errors: [{ path: '/before', message: 'give after or before, not both' }] });
  t.match((await list(`?stuck=true&after=${id}`)).json(), { errors: [{ path: '/after' }] });
  t.match((await list('?stuck=false')).json(), { errors: [{ path: '/stuck' }] });
  t.match((await list('?page=2')).json(), { errors: [{ path: '/page' }] }, 'an unknown parameter is named');
  const audit = await list('?stuck=true&limit=1000');
  t.match([audit.statusCode, audit.json()], [200, { stuckAfterMs: 900_000, data: [] }], 'stuck=true is still the audit, up to 1,000');
});

t.test("Resend's emails.list through the resend SDK pages the same emails", async (t) => {
  const { app, pool, post, key } = await setUp(t);
  const order = await seven(pool, post);
  const resend = await resendSdk(t, app, key);

  const first = await resend.emails.list({ limit: 3 });
  t.equal(first.error, null);
  t.match(first.data, { object: 'list', has_more: true });
  t.same(
    first.data?.data.map((e) => e.id),
    order.slice(0, 3),
  );
  t.match(first.data?.data[0], { to: [], last_event: 'queued', created_at: '2026-03-01T10:00:00.500Z', scheduled_at: null });
  const next = await resend.emails.list({ limit: 3, after: order[2] as string });
  t.same([next.data?.data.map((e) => e.id), next.data?.has_more], [order.slice(3, 6), true]);
  const previous = await resend.emails.list({ limit: 3, before: order[3] as string });
  t.same(
    previous.data?.data.map((e) => e.id),
    order.slice(0, 3),
  );
  const all = await resend.emails.list();
  t.same([all.data?.data.map((e) => e.id), all.data?.has_more], [order, false], '20 by default');

  const tooMany = await resend.emails.list({ limit: 101 });
  t.match(tooMany.error, { name: 'validation_error', statusCode: 422 });
  const unknown = await resend.emails.list({ after: '0193a1b2-0000-7000-8000-000000000000' });
  t.match(unknown.error, { name: 'validation_error', message: /names no email of this API key/ });
});
