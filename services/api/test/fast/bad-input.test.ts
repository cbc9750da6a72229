// test-plan: standalone
import { envelopeSchema } from '@postline/contracts';
import t from 'tap';
import { AUTH, email } from '../../../../test/helpers/api.js';
import { startOfRateLimitWindow } from '../../../../test/helpers/env.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { MAX_JSON_VALUES } from '../../src/json-shape.js';
import { cases, expectProblem, forgedHeaderCases, hostileAddressCases, many } from '../bad-input-cases.js';

// The infrastructure-free tier: the real app, in-memory stand-ins for Kafka and Postgres.

t.test('the bad-input table, the hostile addresses and the forged headers: 4xx problem+json, nothing produced', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  t.ok(cases.length >= 46, `${cases.length} cases`);
  t.ok(hostileAddressCases.length >= 200, `${hostileAddressCases.length} hostile address cases`);
  for (const c of [...cases, ...hostileAddressCases, ...forgedHeaderCases]) await expectProblem(t, app, c);
  t.equal(produced.length, 0, 'nothing was produced');
});

t.test('a good request is produced as a v2 envelope of parsed mailboxes (the tier can see a produce)', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/emails',
    headers: AUTH,
    payload: email({
      from: '"Doe, Jane (CEO)" <sender@example.com>',
      to: ['A <a@example.net>', 'b@example.net'],
      headers: {
        'List-Unsubscribe': '<https://example.com/u/1>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'X-Campaign': 'c',
      },
    }),
  });
  t.equal(res.statusCode, 202, res.body);
  t.equal(produced.length, 1);
  const envelope = envelopeSchema.parse(JSON.parse(String(produced[0]?.value)));
  t.same(envelope.email.from, { name: 'Doe, Jane (CEO)', address: 'sender@example.com' });
  t.same(envelope.email.to, [{ name: 'A', address: 'a@example.net' }, { address: 'b@example.net' }]);
  t.equal(envelope.v, 2);
});

t.test('bounded work: a 49,990-element list is refused by counting, with one error, before any element is read', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  // The longest list the body's value bound lets be parsed (json-shape.ts; a longer one is refused before that).
  const body = JSON.stringify(email({ to: Array.from({ length: MAX_JSON_VALUES - 10 }, () => 'a@') }));
  const started = process.hrtime.bigint();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/emails',
    headers: { ...AUTH, 'content-type': 'application/json' },
    payload: body,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.equal(res.statusCode, 400);
  t.same(res.json().errors, [{ path: '/to', message: 'at most 50 recipients in total (to + cc + bcc), got 49990' }]);
  t.ok(res.body.length < 1_000, `a short answer (${res.body.length} bytes)`);
  t.comment(`answered in ${ms.toFixed(1)} ms (the bound is measured by npm run bench, not asserted here)`);
  for (const [field, value, path] of [
    ['headers', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`X-H${i}`, 'v'])), '/headers'],
    ['tags', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`t${i}`, 'v'])), '/tags'],
    ['attachments', Array.from({ length: 11 }, () => ({ filename: 'a', content: 'QQ==' })), '/attachments'],
    ['replyTo', many(11), '/replyTo'],
  ] as const) {
    const r = await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email({ [field]: value }) });
    t.match([r.statusCode, r.json().errors], [400, [{ path }]], `${field} counted before validation`);
  }
  const batch = await app.inject({
    method: 'POST',
    url: '/v1/emails/batch',
    headers: AUTH,
    payload: { emails: Array.from({ length: 5_000 }, () => ({})) },
  });
  t.match([batch.statusCode, batch.json().errors], [400, [{ path: '/emails', message: /at most 100 emails/ }]]);
  t.equal(produced.length, 0);
});

t.test('at most 20 errors are listed, and the detail says how many there were', async (t) => {
  const { app } = await buildMemoryApi(t);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/emails/batch',
    headers: AUTH,
    payload: { emails: Array.from({ length: 100 }, () => email({ from: 'nope' })) },
  });
  t.equal(res.statusCode, 400);
  t.equal(res.json().errors.length, 20);
  t.match(res.json().detail, /^100 invalid fields; the first 20 are listed$/);
});

t.test('the rate limit is charged before validation: invalid requests cost their emails too', async (t) => {
  const { app } = await buildMemoryApi(t, { RATE_LIMIT_PER_MINUTE: '3' });
  await startOfRateLimitWindow();
  for (let i = 0; i < 3; i++) {
    const r = await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email({ from: 'bad' }) });
    t.equal(r.statusCode, 400);
  }
  const limited = await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() });
  t.equal(limited.statusCode, 429, 'the fourth request is over the limit, valid or not');
});

t.test('allowed headers: X-*, the list headers, threading, Auto-Submitted; their values are checked', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  const ok = {
    'X-Campaign': 'spring',
    'List-Id': 'News <news.example.com>',
    'In-Reply-To': '<a@example.com>',
    References: '<a@example.com> <b@example.com>',
    'Auto-Submitted': 'auto-generated',
    Precedence: 'bulk',
    'Feedback-ID': 'a:b:c:postline',
  };
  t.equal((await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email({ headers: ok }) })).statusCode, 202);
  for (const [name, value] of [
    ['In-Reply-To', 'not a msg-id'],
    ['List-Unsubscribe-Post', 'yes'],
    ['Auto-Submitted', 'maybe'],
    ['List-Unsubscribe', 'https://no-brackets.example'],
  ]) {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/emails',
      headers: AUTH,
      payload: email({ headers: { [name as string]: value } }),
    });
    t.match([r.statusCode, r.json().errors], [400, [{ path: `/headers/${name}` }]], `${name}: ${value}`);
  }
  t.equal(produced.length, 1);
});

t.test('/metrics can move to a port of its own (METRICS_PORT), off the public one', async (t) => {
  const { app } = await buildMemoryApi(t, { METRICS_PORT: '0' });
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'not on the API port');
  const address = app.metricsServer?.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  t.equal(res.status, 200);
  t.match(await res.text(), /postline_api_emails_accepted_total/);
});
