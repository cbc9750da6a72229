// test-plan: standalone
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { OAuthTokenSource } from '../src/oauth-token.js';

/** A token endpoint that records each request and answers what `answer` says. */
async function endpoint(t: Test, answer: (n: number) => { status?: number; body: unknown; delayMs?: number }) {
  const seen: { authorization?: string; body: string; contentType?: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({ authorization: req.headers.authorization, body, contentType: req.headers['content-type'] });
      const a = answer(seen.length);
      setTimeout(() => {
        res.statusCode = a.status ?? 200;
        res.setHeader('content-type', 'application/json');
        res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token?tenant=x`, seen };
}

const credentials = (tokenUrl: string) => ({ tokenUrl, clientId: 'postline api', clientSecret: 's3cr:et', scope: 'kafka' });

t.test(
  'the client-credentials grant: Basic with the id and secret form-encoded, the scope; kept and shared until 80 % of its life',
  async (t) => {
    const { url, seen } = await endpoint(t, (n) => ({
      body: { access_token: `token-${n}`, token_type: 'Bearer', expires_in: 100 },
      delayMs: 20,
    }));
    let now = 1_000_000;
    const source = new OAuthTokenSource(credentials(url), { now: () => now });
    const [a, b, c] = await Promise.all([source.token(), source.token(), source.token()]);
    t.same([a, b, c], [{ value: 'token-1' }, { value: 'token-1' }, { value: 'token-1' }], 'three asks at once: one request');
    t.equal(seen.length, 1);
    t.equal(seen[0]?.authorization, `Basic ${Buffer.from('postline%20api:s3cr%3Aet').toString('base64')}`, 'RFC 6749 2.3.1');
    t.equal(seen[0]?.contentType, 'application/x-www-form-urlencoded');
    t.same(Object.fromEntries(new URLSearchParams(seen[0]?.body)), { grant_type: 'client_credentials', scope: 'kafka' });
    now += 79_000;
    t.same(await source.token(), { value: 'token-1' }, 'at 79 % of its life: the same');
    now += 1_000;
    t.same(await source.token(), { value: 'token-2' }, 'at 80 %: a new one');
    t.equal(seen.length, 2);
  },
);

t.test('a refresh that fails keeps the token while it is valid, then says why, without the secret', async (t) => {
  let failing = false;
  const { url } = await endpoint(t, (n) =>
    failing
      ? { status: 401, body: { error: 'invalid_client', error_description: 'no' } }
      : { body: { access_token: `token-${n}`, expires_in: 100 } },
  );
  let now = 0;
  const source = new OAuthTokenSource(credentials(url), { now: () => now });
  t.same(await source.token(), { value: 'token-1' });
  failing = true;
  now = 90_000;
  t.same(await source.token(), { value: 'token-1' }, 'refresh refused at 90 %: the old token, still valid');
  now = 100_000;
  const error = await source.token().then(
    () => null,
    (e: Error) => e,
  );
  t.match(
    error?.message,
    /^OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token answered 401: invalid_client$/,
    'expired: the error',
  );
  t.notMatch(error?.message, /s3cr|tenant/, 'neither the secret nor the query');
});

t.test('an answer without a token, one that is not JSON, an endpoint that does not answer or is not there', async (t) => {
  const missing = await endpoint(t, () => ({ body: { token_type: 'Bearer' } }));
  await t.rejects(new OAuthTokenSource(credentials(missing.url)).token(), /answered without an access_token/);
  const html = await endpoint(t, () => ({ status: 502, body: '<html>bad gateway</html>' }));
  await t.rejects(new OAuthTokenSource(credentials(html.url)).token(), /answered 502$/);
  const slow = await endpoint(t, () => ({ body: { access_token: 'late' }, delayMs: 2_000 }));
  await t.rejects(new OAuthTokenSource(credentials(slow.url), { timeoutMs: 200 }).token(), /could not be reached \(TimeoutError\)/);
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await t.rejects(new OAuthTokenSource(credentials(`http://127.0.0.1:${port}/token`)).token(), /could not be reached \(ECONNREFUSED\)/);
});

t.test("no expires_in: a JWT's exp, else 60 s", async (t) => {
  const exp = Math.floor(Date.now() / 1000) + 1_000;
  const jwt = `e30.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;
  const { url, seen } = await endpoint(t, (n) => ({ body: { access_token: n === 1 ? jwt : `opaque-${n}` } }));
  let now = Date.now();
  const source = new OAuthTokenSource(credentials(url), { now: () => now });
  await source.token();
  now += 700_000;
  await source.token();
  t.equal(seen.length, 1, 'a JWT of 1,000 s: kept at 700 s');
  now += 110_000;
  t.same(await source.token(), { value: 'opaque-2' }, 'past 80 % of it: a new one');
  now += 44_000;
  await source.token();
  t.equal(seen.length, 2, 'an opaque one without expires_in: kept for 60 s less 15 s');
  now += 2_000;
  await source.token();
  t.equal(seen.length, 3, 'and then renewed');
});

t.test("a short-lived token is renewed at least 15 s before it expires, above kafkajs' 10 s re-authentication threshold", async (t) => {
  const { url, seen } = await endpoint(t, (n) => ({ body: { access_token: `token-${n}`, expires_in: 30 } }));
  let now = 0;
  const source = new OAuthTokenSource(credentials(url), { now: () => now });
  await source.token();
  now = 14_999;
  t.same(await source.token(), { value: 'token-1' }, '80 % of 30 s would be 24 s: at 15 s left it is renewed instead');
  now = 15_000;
  t.same(await source.token(), { value: 'token-2' });
  t.equal(seen.length, 2);
  const tiny = await endpoint(t, (n) => ({ body: { access_token: `tiny-${n}`, expires_in: 5 } }));
  const short = new OAuthTokenSource(credentials(tiny.url), { now: () => now });
  await short.token();
  await short.token();
  t.equal(tiny.seen.length, 2, 'one of 5 s: a new one at every ask (the provider decides)');
});
