// test-plan: standalone
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { selfSignedCertificate } from '../../../../packages/stack/src/self-signed.js';
import { KEY } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { swaks } from '../../../../test/helpers/smtp-clients.js';
import { authPlain } from '../../../../test/helpers/smtp-raw.js';
import { COMMANDS_BEFORE_TLS } from '../../src/submission/commands-before-tls.js';

// Issue #15 §2: with a certificate, SMTP submission offers STARTTLS and AUTH only inside it, so an
// API key never crosses the network in the clear: before STARTTLS, EHLO lists no AUTH (RFC 4954
// §4; Postfix's smtpd_tls_auth_only), so a client stops before sending the key. Driven by swaks
// (Debian), not our code, and by a bare socket that sends what a client should not.

const message = ['--from', 'app@example.com', '--to', 'someone@example.net', '--header', 'Subject: over TLS', '--body', 'hello'];
/** AUTH PLAIN sends the key with the command itself (an initial response); LOGIN after a 334. */
const auth = (mechanism: 'PLAIN' | 'LOGIN') => ['--auth', mechanism, '--auth-user', 'apikey', '--auth-password', KEY];

async function tlsApi(t: Test, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'submission-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { keyFile, certFile } = selfSignedCertificate(dir);
  const { app, produced } = await buildMemoryApi(t, {
    SUBMISSION_PORT: '0',
    SUBMISSION_TLS_KEY_FILE: keyFile,
    SUBMISSION_TLS_CERT_FILE: certFile,
    ...env,
  });
  return { port: app.submissionPort() as number, produced };
}

t.test('in the clear, EHLO offers STARTTLS and no AUTH: swaks stops before sending the key', async (t) => {
  const { port, produced } = await tlsApi(t);
  const clear = await swaks(['--server', `127.0.0.1:${port}`, ...auth('PLAIN'), ...message]);
  t.not(clear.code, 0, 'swaks gives up');
  t.match(clear.transcript, /<-\s+250[- ]STARTTLS/, 'STARTTLS offered');
  t.notMatch(clear.transcript, /<-\s+250[- ]AUTH/, 'AUTH not offered');
  t.notMatch(clear.transcript, /-> AUTH/, 'no AUTH sent');
  t.notOk(clear.transcript.includes(authPlain(KEY).split(' ')[2] as string), 'the key never crossed');
  t.equal(produced.length, 0, 'nothing queued');
});

/** A bare connection in the clear: `send` writes a line and returns what the server answered, up to its final reply line. */
function clearSession(t: Test, port: number) {
  const socket = connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  let received = '';
  let ended = false;
  socket.setEncoding('latin1').on('data', (c: string) => (received += c));
  socket.on('close', () => (ended = true)).on('error', () => {});
  const send = async (line: string | null): Promise<string> => {
    const from = received.length;
    if (line !== null) socket.write(`${line}\r\n`);
    for (let i = 0; i < 1_000 && !/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(received.slice(from)); i++)
      await new Promise((r) => setTimeout(r, 10));
    return received.slice(from);
  };
  const closed = async () => {
    for (let i = 0; i < 300 && !ended; i++) await new Promise((r) => setTimeout(r, 10));
    return ended;
  };
  return { send, closed };
}

t.test('in the clear, AUTH sent anyway is refused, and MAIL is told to STARTTLS first', async (t) => {
  const { port, produced } = await tlsApi(t);
  const { send } = clearSession(t, port);
  t.match(await send(null), /^220 /, 'greeting');
  const ehlo = await send('EHLO client.example');
  t.match(ehlo, /250[- ]STARTTLS/);
  t.notMatch(ehlo, /250[- ]AUTH/, 'no AUTH in EHLO');
  t.match(await send(authPlain(KEY)), /^5\d\d /, 'AUTH PLAIN refused');
  t.match(await send('MAIL FROM:<app@example.com>'), /^530 5\.7\.0 Must issue a STARTTLS command first/, 'MAIL: 530, STARTTLS first');
  t.match(await send('RCPT TO:<someone@example.net>'), /^503 /, 'no RCPT without MAIL');
  t.equal(produced.length, 0, 'nothing queued');
});

t.test('in the clear, ten commands before STARTTLS, then 421 and the connection ends, as inside TLS before AUTH', async (t) => {
  const { port } = await tlsApi(t);
  const idle = clearSession(t, port);
  t.match(await idle.send(null), /^220 /, 'greeting');
  t.match(await idle.send('EHLO client.example'), /250[- ]STARTTLS/);
  for (let i = 2; i <= COMMANDS_BEFORE_TLS; i++) t.match(await idle.send('NOOP'), /^250 /, `command ${i} answered`);
  t.match(await idle.send('NOOP'), /^421 4\.7\.0 Too many commands before STARTTLS/, 'the eleventh: 421');
  t.ok(await idle.closed(), 'and the connection is closed');

  // Ten lines, then STARTTLS: taken, as a client that looked around first gets its TLS.
  const late = clearSession(t, port);
  await late.send(null);
  await late.send('EHLO client.example');
  for (let i = 2; i <= COMMANDS_BEFORE_TLS; i++) await late.send('RSET');
  t.match(await late.send('STARTTLS'), /^220 /, 'STARTTLS after ten lines: 220');
});

t.test('behind a balancer (PROXY v1 and v2), its header line is not counted, and swaks submits over TLS', async (t) => {
  const { port, produced } = await tlsApi(t, { SUBMISSION_PROXY_FROM: '127.0.0.1' });
  const proxied = clearSession(t, port);
  // The session's first line, written before the greeting as a balancer does.
  t.match(await proxied.send(`PROXY TCP4 192.0.2.7 127.0.0.1 40000 ${port}`), /^220 /, 'greeting after the header');
  await proxied.send('EHLO client.example');
  for (let i = 2; i <= COMMANDS_BEFORE_TLS; i++) t.match(await proxied.send('NOOP'), /^250 /);
  t.match(await proxied.send('NOOP'), /^421 4\.7\.0 Too many commands before STARTTLS/, "the client's eleventh: 421");
  for (const version of ['1', '2']) {
    const sent = await swaks([
      ...['--server', `127.0.0.1:${port}`, '--tls', '--proxy-version', version, '--proxy-family', version === '1' ? 'TCP4' : 'AF_INET'],
      ...['--proxy-source', '192.0.2.8', '--proxy-source-port', '40001', '--proxy-dest', '127.0.0.1', '--proxy-dest-port', String(port)],
      ...auth('PLAIN'),
      ...message,
    ]);
    t.equal(sent.code, 0, `PROXY v${version}, then STARTTLS: accepted`, { transcript: sent.transcript.slice(-600) });
  }
  t.equal(produced.length, 2, 'both on the topic');
});

t.test('inside TLS, EHLO offers AUTH; swaks authenticates and submits', async (t) => {
  const { port, produced } = await tlsApi(t);
  const secure = await swaks(['--server', `127.0.0.1:${port}`, '--tls', ...auth('LOGIN'), ...message]);
  t.equal(secure.code, 0, secure.transcript.slice(-600));
  t.match(
    secure.transcript,
    /-> STARTTLS[\s\S]*?<-\s+220[\s\S]*?<~\s+250[- ]AUTH PLAIN LOGIN[\s\S]*?~> AUTH LOGIN/,
    'STARTTLS taken, then AUTH offered and used inside TLS (~>)',
  );
  t.match(secure.transcript, /<~\s+235 /, 'AUTH accepted inside TLS');
  t.match(secure.transcript, /<~\s+250 2\.0\.0 Ok: queued as [0-9a-f-]{36}/, 'the 250 inside TLS');
  t.equal(produced.length, 1, 'one email queued');
});
