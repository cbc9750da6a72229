import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { selfSignedCertificate } from '../../../packages/stack/src/self-signed.js';
import { buildApi, KEY } from '../../../test/helpers/api.js';
import { swaks } from '../../../test/helpers/smtp-clients.js';

// Issue #15 §2: with a certificate, SMTP submission offers STARTTLS and refuses AUTH before it,
// so an API key never crosses the network in the clear. Driven by swaks (Debian), not our code.

t.test('STARTTLS with a configured certificate; AUTH only inside TLS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'submission-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { keyFile: key, certFile: cert } = selfSignedCertificate(dir);
  const { app } = await buildApi(t, { SUBMISSION_TLS_KEY_FILE: key, SUBMISSION_TLS_CERT_FILE: cert });
  const server = `127.0.0.1:${app.submissionPort()}`;
  const message = ['--from', 'app@example.com', '--to', 'someone@example.net', '--header', 'Subject: over TLS', '--body', 'hello'];
  const auth = ['--auth', 'LOGIN', '--auth-user', 'apikey', '--auth-password', KEY];

  const clear = await swaks(['--server', server, ...auth, ...message]);
  t.not(clear.code, 0, 'AUTH in the clear fails');
  t.match(clear.transcript, /<\*\*\s+538 .*STARTTLS/i, 'with 538: STARTTLS first');
  t.notMatch(clear.transcript, /queued as/, 'nothing was queued');

  const secure = await swaks(['--server', server, '--tls', ...auth, ...message]);
  t.equal(secure.code, 0, secure.transcript.slice(-600));
  t.match(secure.transcript, /-> STARTTLS[\s\S]*?<-\s+220[\s\S]*?~> AUTH LOGIN/, 'STARTTLS offered and taken, then AUTH inside TLS (~>)');
  t.match(secure.transcript, /<~\s+235 /, 'AUTH accepted inside TLS');
  t.match(secure.transcript, /<~\s+250 2\.0\.0 Ok: queued as [0-9a-f-]{36}/, 'the 250 after the ack, inside TLS');
});
