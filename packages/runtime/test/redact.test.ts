// test-plan: standalone
import t from 'tap';
import { createLogger, errSerializer, maskUrl } from '../src/index.js';

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

  const lines: string[] = [];
  const log = createLogger({ name: 't', level: 'info' }, { write: (line: string) => lines.push(line) });
  log.child({ component: 'ledger' }).warn({ err: error }, 'ledger connection lost');
  t.equal(lines.length, 1);
  t.notMatch(lines[0], /987654321|secretKey|processID/, 'the logger uses it, in children too');
  t.match(lines[0], /ECONNRESET/);
});
