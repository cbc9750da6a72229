import t from 'tap';
import { AUTH, buildApi, email, OTHER_KEY } from '../../../test/helpers/api.js';
import { startOfRateLimitWindow } from '../../../test/helpers/env.js';

t.test('health, readiness, metrics, docs and openapi.json need no key', async (t) => {
  const { app } = await buildApi(t);
  for (const url of ['/healthz', '/readyz', '/metrics', '/docs', '/openapi.json']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  }
  t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready', kafka: true, starting: [] });
  // Every service's process metrics include the log lines its stdout's reader never took (runtime's stdout-destination).
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /^postline_api_log_lines_dropped_total 0$/m);
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  t.equal(doc.openapi, '3.1.0');
  t.ok(doc.paths['/v1/emails'].post, 'documents POST /v1/emails');
  t.ok(doc.components.schemas.EmailRequest.properties.attachments, 'request schema generated from zod');
  t.equal(doc.components.schemas.EmailRequest.additionalProperties, false, 'unknown keys rejected, also in the spec');
});

t.test('status: 401 without a key, 404 for another account’s email and for unknown ids', async (t) => {
  const { app } = await buildApi(t);
  const { id } = (await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() })).json();
  t.equal((await app.inject({ method: 'GET', url: `/v1/emails/${id}` })).statusCode, 401);
  t.equal((await app.inject({ method: 'GET', url: `/v1/emails/${id}`, headers: AUTH })).statusCode, 200);
  t.equal(
    (await app.inject({ method: 'GET', url: `/v1/emails/${id}`, headers: { authorization: `Bearer ${OTHER_KEY}` } })).statusCode,
    404,
    'not visible to another key',
  );
  t.equal((await app.inject({ method: 'GET', url: '/v1/emails/00000000-0000-7000-8000-000000000000', headers: AUTH })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: '/v1/emails/not-an-id', headers: AUTH })).statusCode, 404);
});

t.test('the per-key rate limit counts emails and answers 429 with RateLimit headers', async (t) => {
  const { app } = await buildApi(t, { RATE_LIMIT_PER_MINUTE: '3' });
  await startOfRateLimitWindow();
  const first = await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() });
  t.equal(first.statusCode, 202);
  t.equal(first.headers['ratelimit-limit'], '3');
  t.equal(first.headers['ratelimit-remaining'], '2');
  const batch = await app.inject({
    method: 'POST',
    url: '/v1/emails/batch',
    headers: AUTH,
    payload: { emails: [email(), email(), email()] },
  });
  t.equal(batch.statusCode, 429, 'a batch of 3 does not fit in the 2 left');
  t.equal(batch.json().code, 'EMAIL_ERR_RATE_LIMITED');
  t.ok(Number(batch.headers['retry-after']) >= 1, 'Retry-After');
  t.equal(
    (await app.inject({ method: 'POST', url: '/v1/emails/batch', headers: AUTH, payload: { emails: [email(), email()] } })).statusCode,
    202,
  );
  t.equal((await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() })).statusCode, 429);
  const other = await app.inject({
    method: 'POST',
    url: '/v1/emails',
    headers: { authorization: `Bearer ${OTHER_KEY}` },
    payload: email(),
  });
  t.equal(other.statusCode, 202, 'another key has its own budget');
});
