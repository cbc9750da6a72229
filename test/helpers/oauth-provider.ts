import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

/**
 * An OAuth 2.0 provider's token endpoint for the tests: the client-credentials grant with the
 * client's id and secret in HTTP Basic (RFC 6749 §2.3.1 and §4.4), answering RS256 JWTs signed by
 * the key whose JWKS the test brokers trust (packages/stack/src/kafka-oauth.ts). `issued` counts
 * the tokens it gave.
 */
export async function startOAuthProvider(
  t: Test,
  client: { id: string; secret: string },
  options: { lifetimeS?: number; audience?: string } = {},
) {
  const key = createPrivateKey(readFileSync(process.env.STACK_KAFKA_OAUTH_KEY_FILE ?? '', 'utf8'));
  const kid = process.env.STACK_KAFKA_OAUTH_KID ?? '';
  const audience = options.audience ?? process.env.STACK_KAFKA_OAUTH_AUDIENCE ?? '';
  const lifetimeS = options.lifetimeS ?? 300;
  const state = { issued: 0, refused: 0 };
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      const [id, secret] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
        .toString('utf8')
        .split(':')
        .map(decodeURIComponent);
      const form = new URLSearchParams(body);
      res.setHeader('content-type', 'application/json');
      if (req.method !== 'POST' || form.get('grant_type') !== 'client_credentials' || id !== client.id || secret !== client.secret) {
        state.refused++;
        res.statusCode = 401;
        return res.end(JSON.stringify({ error: 'invalid_client' }));
      }
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${part({ alg: 'RS256', typ: 'JWT', kid })}.${part({ sub: id, aud: audience, iss: 'postline-test-provider', iat: now, exp: now + lifetimeS, ...(form.get('scope') ? { scope: form.get('scope') } : {}) })}`;
      const token = `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
      state.issued++;
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: lifetimeS }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/oauth2/token`, state };
}
