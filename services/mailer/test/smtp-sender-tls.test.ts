// test-plan: standalone
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import t, { type Test } from 'tap';
import { selfSignedCertificate } from '../../../packages/stack/src/self-signed.js';
import { envelope, testSmtpSender } from '../../../test/helpers/mailer.js';

// The relay's TLS as users configure it: STARTTLS when the server offers it (smtp://), implicit
// TLS (smtps://), and SMTP_TLS_REJECT_UNAUTHORIZED, with a self-signed certificate.
const dir = mkdtempSync(join(tmpdir(), 'relay-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const made = selfSignedCertificate(dir);
const tls = { key: readFileSync(made.keyFile), cert: readFileSync(made.certFile) };

/** A real SMTP server with the certificate; records whether each message came over TLS. */
async function server(t: Test, secure: boolean) {
  const received: { secure: boolean }[] = [];
  const s = new SMTPServer({
    ...tls,
    secure,
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        received.push({ secure: session.secure });
        callback(null, 'Ok');
      });
    },
  });
  s.on('error', () => {});
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return { port: (s.server.address() as { port: number }).port, received };
}

function sender(t: Test, url: string, rejectUnauthorized: boolean) {
  // A TLS handshake (a 2048-bit key) on a loaded host: more than the unit tests' 1 s an SMTP phase.
  const s = testSmtpSender(url, { poolSize: 1, timeoutMs: 2_000, sendTimeoutMs: 5_000, rejectUnauthorized });
  t.teardown(() => s.close());
  return s;
}

t.test('STARTTLS when offered: the message goes over TLS', async (t) => {
  const { port, received } = await server(t, false);
  t.match(await sender(t, `smtp://localhost:${port}`, false).send(envelope()), { kind: 'sent' });
  t.same(received, [{ secure: true }], 'upgraded before MAIL FROM, as the server saw it');
});

t.test('smtps: implicit TLS', async (t) => {
  const { port, received } = await server(t, true);
  t.match(await sender(t, `smtps://localhost:${port}`, false).send(envelope()), { kind: 'sent' });
  t.same(received, [{ secure: true }]);
});

t.test(
  'a certificate that does not verify, with SMTP_TLS_REJECT_UNAUTHORIZED (the default): the relay is unavailable, nothing sent',
  async (t) => {
    const { port, received } = await server(t, false);
    const outcome = await sender(t, `smtp://localhost:${port}`, true).send(envelope());
    // Unavailable, as a relay that cannot be reached: its breaker counts it, another relay may take
    // the email, and no attempt of the email is spent on a relay's configuration.
    t.match(outcome, { kind: 'unavailable' });
    t.match('error' in outcome ? outcome.error : '', /self[- ]signed/i);
    t.same(received, [], 'nothing reached the server');
  },
);
