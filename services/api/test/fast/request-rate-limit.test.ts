// test-plan: standalone
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { AUTH, email, OTHER_KEY } from '../../../../test/helpers/api.js';
import { startOfRateLimitWindow } from '../../../../test/helpers/env.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';

// Each of these requests reads or writes the ledger every key shares: a key that sent them in a
// loop had no bound but the API's own speed.
t.test('REQUEST_RATE_LIMIT_PER_MINUTE: every authenticated request but a send counts, per key, before its handler', async (t) => {
  const { app, produced } = await buildMemoryApi(t, { REQUEST_RATE_LIMIT_PER_MINUTE: '5' });
  await startOfRateLimitWindow();
  const get = (url: string, headers: Record<string, string> = AUTH) => app.inject({ method: 'GET', url, headers });
  const urls = [`/v1/emails/${randomUUID()}`, '/v1/suppressions', '/v1/webhooks', '/v1/templates', `/resend/emails/${randomUUID()}`];
  for (const [i, url] of urls.entries()) {
    const r = await get(url);
    t.not(r.statusCode, 429, `${url}: within the limit (${r.statusCode}: this tier has no ledger)`);
    t.equal(r.headers['ratelimit-limit'], '5');
    t.equal(r.headers['ratelimit-remaining'], String(4 - i));
  }
  const over = await get(`/v1/emails/${randomUUID()}`);
  t.equal(over.statusCode, 429, 'the sixth request of the minute');
  t.match(over.headers['content-type'], /^application\/problem\+json/);
  t.equal(over.json().code, 'EMAIL_ERR_RATE_LIMITED');
  t.ok(Number(over.headers['retry-after']) >= 1, `Retry-After: ${over.headers['retry-after']}`);
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/suppressions/a@example.net', headers: AUTH })).statusCode, 429, 'writes too');
  t.equal(
    (await app.inject({ method: 'POST', url: '/resend/emails/x/cancel', headers: AUTH })).statusCode,
    429,
    'on the Resend-compatible routes too',
  );

  const other = await get('/v1/suppressions', { authorization: `Bearer ${OTHER_KEY}` });
  t.not(other.statusCode, 429, 'another key has its own');
  t.equal(
    (await get('/v1/suppressions', { authorization: 'Bearer wrong' })).statusCode,
    401,
    'a wrong key is a 401, and counts for no one',
  );

  const sent = await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() });
  t.equal(sent.statusCode, 202, 'a send is not a request here: RATE_LIMIT_PER_MINUTE counts its emails');
  t.equal(sent.headers['ratelimit-limit'], '6000');
  const resend = await app.inject({
    method: 'POST',
    url: '/resend/emails',
    headers: { ...AUTH, 'content-type': 'application/json' },
    payload: { from: 'Shop <orders@example.com>', to: 'r@example.net', subject: 's', text: 't' },
  });
  t.equal(resend.statusCode, 200, 'nor a send on the Resend-compatible route');
  t.equal(produced.length, 2);
});
