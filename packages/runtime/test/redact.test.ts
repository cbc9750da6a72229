// test-plan: standalone
import t from 'tap';
import { createLogger, errSerializer, maskUrl } from '../src/index.js';

/** A logger as the services build it, its lines kept as written. */
function capturedLogger() {
  const lines: string[] = [];
  const log = createLogger({ name: 't', level: 'info' }, { write: (line: string) => lines.push(line) });
  return { lines, log };
}

t.test('maskUrl parses the URL: a password with @ or : in it is masked whole', async (t) => {
  t.equal(maskUrl('smtp://user:p%40ss@word@smtp.example.com:587'), 'smtp://user:***@smtp.example.com:587');
  t.equal(maskUrl('smtps://user:s3cr3t%3Ax@smtp.example.com'), 'smtps://user:***@smtp.example.com');
  t.equal(maskUrl('postgres://app:hunter2@db:5432/postline'), 'postgres://app:***@db:5432/postline');
  t.equal(maskUrl('smtp://smtp.example.com:25'), 'smtp://smtp.example.com:25', 'nothing to mask');
  t.equal(maskUrl('not a url with a secret'), '[unparseable URL]', 'never echoed when it cannot be parsed');
});

t.test('errors are logged without the clients and sockets libraries attach to them', async (t) => {
  const client = { host: 'db', user: 'app', processID: 4242, secretKey: 987654321, connection: { stream: { fd: 9 } } };
  const error = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET', client, socket: { fd: 9 } });
  const out = errSerializer(error) as Record<string, unknown>;
  t.equal(out.message, 'Connection terminated unexpectedly');
  t.equal(out.code, 'ECONNRESET', 'primitive properties are kept');
  t.notOk('client' in out, 'no client object');
  t.notOk('socket' in out, 'no socket object');
  t.notMatch(JSON.stringify(out), /987654321|processID/);

  const { lines, log } = capturedLogger();
  log.child({ component: 'ledger' }).warn({ err: error }, 'ledger connection lost');
  t.equal(lines.length, 1);
  t.notMatch(lines[0], /987654321|secretKey|processID/, 'the logger uses it, in children too');
  t.match(lines[0], /ECONNRESET/);
});

t.test('credentials and email content are censored at the top level and one level down, in lines and bindings', async (t) => {
  const { lines, log } = capturedLogger();
  const fields = {
    apiKey: 'pl_live_key',
    body: 'raw body',
    text: 'hello text',
    html: '<p>hello html</p>',
    attachments: [{ content: 'YXR0YWNo' }],
    databaseUrl: 'postgres://app:dbpass@db/postline',
    smtpUrl: 'smtp://u:smtppass@relay',
    headers: { authorization: 'Bearer hdr-token', accept: 'application/json' },
    smtp: { host: 'relay', pass: 'smtp-pass', password: 'smtp-password', secret: 'smtp-secret' },
    email: { id: 'e1', text: 'nested text', html: '<b>nested html</b>', attachments: ['nested attachment'] },
  };
  const before = JSON.stringify(fields);
  log.child({ relay: { host: 'relay-b', pass: 'binding-pass' } }).info(fields, 'configured');
  t.equal(lines.length, 1);
  const line = JSON.parse(lines[0] ?? '{}');
  const secrets = /pl_live_key|raw body|hello|dbpass|smtppass|hdr-token|smtp-pass|smtp-secret|nested|YXR0YWNo|binding-pass/;
  t.notMatch(lines[0], secrets, 'no secret or content in the line');
  for (const key of ['apiKey', 'body', 'text', 'html', 'attachments', 'databaseUrl', 'smtpUrl']) t.equal(line[key], '[redacted]', key);
  t.equal(line.headers.authorization, '[redacted]');
  t.equal(line.headers.accept, 'application/json', 'the rest of a field is logged');
  t.same(line.smtp, { host: 'relay', pass: '[redacted]', password: '[redacted]', secret: '[redacted]' });
  t.same(line.email, { id: 'e1', text: '[redacted]', html: '[redacted]', attachments: '[redacted]' });
  t.same(line.relay, { host: 'relay-b', pass: '[redacted]' }, 'a child binding too');
  t.equal(JSON.stringify(fields), before, "the caller's objects are not changed");

  const error = Object.assign(new Error('auth failed'), { code: 'EAUTH', pass: 'err-pass' });
  log.error({ err: error }, 'relay login failed');
  t.notMatch(lines[1], /err-pass/, "an error's own secret properties");
  t.match(lines[1], /EAUTH/);
  t.equal(error.pass, 'err-pass', 'the error itself is not changed');
});

t.test("a request is logged as fastify's fields, never its headers", async (t) => {
  const { lines, log } = capturedLogger();
  const req = {
    method: 'POST',
    url: '/v1/emails',
    host: 'api.example.com',
    ip: '203.0.113.7',
    socket: { remotePort: 51234, secret: 'socket-secret' },
    headers: { authorization: 'Bearer req-token', cookie: 'sid=req-cookie', 'accept-version': '1' },
    body: { text: 'request body' },
  };
  log.child({ reqId: 'r1' }).info({ req, res: { statusCode: 202 } }, 'request completed');
  t.notMatch(lines[0], /req-token|req-cookie|socket-secret|request body/);
  t.same(JSON.parse(lines[0] ?? '{}').req, {
    method: 'POST',
    url: '/v1/emails',
    version: '1',
    host: 'api.example.com',
    remoteAddress: '203.0.113.7',
    remotePort: 51234,
  });
  log.info({ req: 'not a request' }, 'odd');
  t.equal(JSON.parse(lines[1] ?? '{}').req, 'not a request', 'a value that is not a request is logged as it is');
});
