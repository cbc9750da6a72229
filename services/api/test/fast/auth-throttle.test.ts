// test-plan: standalone
import t from 'tap';
import { AUTH, email, KEY } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { authPlain, rawSession } from '../../../../test/helpers/smtp-raw.js';

// Guessing API keys over HTTP: one keep-alive connection could try thousands a second. Past
// AUTH_FAILURES_PER_MINUTE wrong keys a client is refused before its key is read, over HTTP and
// SMTP AUTH alike, until the minute ends. The budget is 5 here to keep the test short.

const wrong = (n: number) => ({ authorization: `Bearer guess-${n}` });
const BUDGET = 5;

t.test('past its wrong keys a minute a client gets a 429 whatever key it sends; another client does not', async (t) => {
  const { app, config } = await buildMemoryApi(t, { AUTH_FAILURES_PER_MINUTE: String(BUDGET) });
  t.equal(config.HTTP_PROXY_FROM.length, 0, 'no balancer listed: the default');
  const send = (headers: Record<string, string>, remoteAddress = '198.51.100.7') =>
    app.inject({
      method: 'POST',
      url: '/v1/emails',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: email(),
      remoteAddress,
    });

  for (let n = 1; n <= BUDGET; n++) t.equal((await send(wrong(n))).statusCode, 401, `wrong key ${n}: 401`);
  const refused = await send(AUTH);
  t.equal(refused.statusCode, 429, 'then the right key: 429, unread');
  t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.match(refused.json(), { code: 'EMAIL_ERR_AUTH_THROTTLED', status: 429 });
  const retryAfter = Number(refused.headers['retry-after']);
  t.ok(retryAfter >= 1 && retryAfter <= 60 / BUDGET, `Retry-After ${retryAfter} s: until its next try is due`);
  t.equal((await send(wrong(99))).statusCode, 429, 'a wrong key: the same 429, so an answer tells nothing about the key');
  t.equal((await send({})).statusCode, 401, 'no key at all: 401 (not a guess, never counted)');
  t.equal(
    (await app.inject({ method: 'GET', url: '/v1/emails/em_x', headers: AUTH, remoteAddress: '198.51.100.7' })).statusCode,
    429,
    'every authenticated route',
  );
  const resend = await app.inject({
    method: 'POST',
    url: '/resend/emails',
    headers: { ...AUTH, 'content-type': 'application/json' },
    payload: { from: 'app@example.com', to: 'a@example.org', subject: 'x', text: 'x' },
    remoteAddress: '198.51.100.7',
  });
  t.match(
    { status: resend.statusCode, body: resend.json() },
    { status: 429, body: { name: 'rate_limit_exceeded' } },
    'the Resend routes: its 429',
  );

  t.equal((await send(AUTH, '198.51.100.8')).statusCode, 202, 'another address is served');
  t.equal((await send(AUTH, '::ffff:198.51.100.8')).statusCode, 202, 'and the same one mapped into IPv6');
  // Without HTTP_PROXY_FROM, X-Forwarded-For is anyone's to write: it names no one.
  t.equal((await send({ ...AUTH, 'x-forwarded-for': '203.0.113.1' })).statusCode, 429, 'a forwarded-for header does not get a client out');
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /^postline_api_requests_rejected_total\{code="EMAIL_ERR_AUTH_THROTTLED"\} [4-9]/m, 'counted by code');
});

t.test('behind a listed balancer the client is the one X-Forwarded-For names', async (t) => {
  const { app } = await buildMemoryApi(t, { AUTH_FAILURES_PER_MINUTE: String(BUDGET), HTTP_PROXY_FROM: '10.0.0.0/8' });
  const send = (headers: Record<string, string>, client: string, remoteAddress = '10.1.2.3') =>
    app.inject({
      method: 'POST',
      url: '/v1/emails',
      headers: { ...headers, 'content-type': 'application/json', 'x-forwarded-for': client },
      payload: email(),
      remoteAddress,
    });
  for (let n = 1; n <= BUDGET; n++) await send(wrong(n), '203.0.113.1');
  t.equal((await send(AUTH, '203.0.113.1')).statusCode, 429, 'the guesser behind the balancer is refused');
  t.equal((await send(AUTH, '203.0.113.2')).statusCode, 202, 'another client behind the same balancer is served');
  t.equal((await send(AUTH, '203.0.113.2, 203.0.113.1')).statusCode, 429, 'the balancer appends: the last address before it is the client');
  t.equal(
    (await send(AUTH, '203.0.113.1', '192.0.2.50')).statusCode,
    202,
    'from an address not listed the header is ignored: that peer is the client',
  );
});

t.test('wrong keys over HTTP and SMTP AUTH share one budget a client', async (t) => {
  const { app } = await buildMemoryApi(t, { AUTH_FAILURES_PER_MINUTE: String(BUDGET), SUBMISSION_PORT: '0' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = app.submissionPort() as number;
  const post = (headers: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/v1/emails',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: email(),
      remoteAddress: '127.0.0.1',
    });

  // Two wrong keys over SMTP (each answered after a second), the rest over HTTP.
  const s = await rawSession(port);
  t.teardown(() => s.socket.destroy());
  await s.next();
  s.socket.write('EHLO client.example\r\n');
  await s.next();
  for (const n of [1, 2]) {
    s.socket.write(`${authPlain(`guess-${n}`)}\r\n`);
    t.match(await s.next(), /^535 /, `SMTP wrong key ${n}: 535`);
  }
  for (let n = 3; n <= BUDGET; n++) t.equal((await post(wrong(n))).statusCode, 401, `HTTP wrong key ${n}: 401`);
  t.equal((await post(AUTH)).statusCode, 429, 'HTTP: the right key is refused');

  s.socket.write(`${authPlain(KEY)}\r\n`);
  t.match(
    await s.next(),
    /^421 4\.7\.0 Too many failed authentications from your address; try again in \d+ s/,
    'SMTP: the right key gets a 421',
  );
  const other = await rawSession(port, '127.0.0.2');
  t.teardown(() => other.socket.destroy());
  await other.next();
  other.socket.write(`EHLO other.example\r\n`);
  await other.next();
  other.socket.write(`${authPlain(KEY)}\r\n`);
  t.match(await other.next(), /^235 /, 'another address logs in');
});
