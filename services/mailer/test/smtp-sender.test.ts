// test-plan: standalone
import { createServer, type Socket } from 'node:net';
import { verpAddress, verpTag } from '@postline/contracts';
import { createLogger, type LogSink } from '@postline/runtime';
import { SMTPServer } from 'smtp-server';
import t, { type Test } from 'tap';
import { freePort } from '../../../packages/stack/src/ports.js';
import { envelope, testSmtpSender } from '../../../test/helpers/mailer.js';
import { SmtpSink } from '../../../test/helpers/smtp-sink.js';
import type { SmtpSender, SmtpSenderOptions } from '../src/smtp-sender.js';

type Outcome = Awaited<ReturnType<SmtpSender['send']>>;

/** The sender under test, to a port on this host or to a whole SMTP URL. */
function sender(t: Test, target: number | string, o: Partial<SmtpSenderOptions> & { log?: LogSink } = {}) {
  const { log, ...options } = o;
  const s = testSmtpSender(typeof target === 'number' ? `smtp://127.0.0.1:${target}` : target, options, log);
  t.teardown(() => s.close());
  return s;
}

/** A logger whose lines the test reads. */
function recordingLog(level: 'info' | 'debug') {
  const lines: Array<Record<string, unknown> & { level: number; msg: string }> = [];
  const log = createLogger(
    { name: 'test', level },
    {
      write: (line: string) => {
        // A key written twice is read as its last value: such a line is recorded as an error of its own.
        const twice = /"component":.*"component":/.test(line);
        lines.push(twice ? { level: 50, msg: 'a key written twice', line } : JSON.parse(line));
      },
    },
  );
  return { log, lines };
}

/** A real SMTP server; `onMessage` decides per message: answer (true), or never answer (false). */
async function smtpServer(t: Test, onMessage: (subject: string) => boolean = () => true) {
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const subject = /^Subject: (.*)$/m.exec(Buffer.concat(chunks).toString())?.[1]?.trim() ?? '';
        received.push(subject);
        if (onMessage(subject)) callback(null, 'Ok');
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.server.address() as { port: number }).port;
  const dropAll = () => {
    for (const c of (server as unknown as { connections: Set<{ _socket: Socket }> }).connections) c._socket.destroy();
  };
  return { port, received, dropAll, raw: server };
}

/** A bare TCP server that takes connections and says only what `greet` says (nothing by default). */
async function tcpServer(t: Test, greet?: string): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket.on('error', () => {}));
    if (greet) socket.write(greet);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as { port: number }).port;
}

t.test(
  'a server that keeps dropping pooled connections: every send settles by its deadline, and none that arrived is called unsent',
  async (t) => {
    const server = await smtpServer(t);
    const s = sender(t, server.port, { sendTimeoutMs: 3_000 });
    const dropper = setInterval(server.dropAll, 120);
    t.teardown(() => clearInterval(dropper));
    const started = Date.now();
    const emails = Array.from({ length: 120 }, (_, i) => envelope({}, { subject: `drop-${i}` }));
    const outcomes = await Promise.all(emails.map((e) => s.send(e).then((o) => [e.email.subject, o] as [string, Outcome])));
    const took = Date.now() - started;
    t.ok(took < 3_000 + 1_500, `all 120 settled in ${took} ms (deadline 3 s)`);
    const kinds: Record<string, number> = {};
    for (const [, o] of outcomes) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
    t.comment(`outcomes ${JSON.stringify(kinds)}, received ${server.received.length}`);
    t.notOk(
      outcomes.some(([, o]) => o.kind === 'permanent'),
      'a dropped connection is never a permanent failure (it was: "Content stream was already read")',
    );
    // The safety property: an email the server got must never be reported as not sent, or it
    // would go out again on a retry while a "not sent" email may be moved to another relay.
    const arrived = new Set(server.received);
    const wronglyUnsent = outcomes.filter(([subject, o]) => arrived.has(subject) && o.kind !== 'sent' && o.kind !== 'uncertain');
    t.same(
      wronglyUnsent.map(([subject, o]) => `${subject}: ${o.kind}`),
      [],
      'every received message was reported sent or uncertain',
    );
    t.ok(
      outcomes.every(([subject, o]) => o.kind !== 'sent' || arrived.has(subject)),
      'every "sent" arrived',
    );
  },
);

t.test('a server that accepts the connection and never speaks: the send settles, transient, not uncertain', async (t) => {
  // Phase timeout above the send deadline: only the deadline can end this send.
  const s = sender(t, await tcpServer(t), { timeoutMs: 10_000, sendTimeoutMs: 1_500 });
  const started = Date.now();
  const outcome = await s.send(envelope());
  const took = Date.now() - started;
  t.ok(took >= 1_400 && took < 3_000, `settled at the deadline (${took} ms)`);
  t.equal(outcome.kind, 'transient', `${outcome.kind}: ${'error' in outcome ? outcome.error : ''}`);
});

t.test('an idle pooled connection is closed before its socket timeout, not dropped by it', async (t) => {
  const server = await smtpServer(t);
  // The connections the server holds.
  const connections = () => (server.raw as unknown as { connections: Set<unknown> }).connections.size;
  const { log, lines } = recordingLog('debug');
  // A short socket timeout (the default is 10 s) so the test waits past it in a second.
  const s = sender(t, server.port, { timeoutMs: 600, log });
  t.match(await s.send(envelope({}, { subject: 'before a pause' })), { kind: 'sent' });
  t.equal(connections(), 1, 'the pool keeps its connection after the send');
  await new Promise((r) => setTimeout(r, 1_200));
  t.equal(connections(), 0, 'closed while idle');
  t.same(
    lines.filter((l) => l.msg === 'nodemailer'),
    [],
    'no error on the way: before, the socket timeout dropped it ("Timeout", with a stack) after every pause',
  );
  t.match(await s.send(envelope({}, { subject: 'after the pause' })), { kind: 'sent' }, 'the next send opens a new one');
  t.same(server.received, ['before a pause', 'after the pause']);
});

t.test("nodemailer's own log lines: at debug (the mailer logs each send's outcome), formatted, each key once", async (t) => {
  // Greets, then never answers the client's EHLO: nodemailer logs the socket timeout itself.
  const port = await tcpServer(t, '220 rude.test ESMTP\r\n');
  // A 300 ms socket timeout (the default is 10 s): nodemailer's timeout line comes within the test's second.
  const atInfo = recordingLog('info');
  t.equal((await sender(t, port, { log: atInfo.log, timeoutMs: 300 }).send(envelope())).kind, 'unavailable');
  t.same(atInfo.lines, [], 'nothing at the default level: before, three lines, one at error level, two with a stack');
  const { log, lines } = recordingLog('debug');
  const outcome = await sender(t, port, { log, timeoutMs: 300 }).send(envelope());
  t.equal(outcome.kind, 'unavailable', JSON.stringify(outcome));
  const own = lines.filter((l) => l.msg === 'nodemailer');
  t.ok(
    own.some((l) => l.smtpMessage === 'Timeout'),
    'nodemailer logged the timeout',
  );
  t.same(
    lines.filter((l) => l.msg === 'a key written twice'),
    [],
    'no key written twice',
  );
  for (const l of own) {
    t.match(l, { level: 20, component: 'nodemailer', smtpComponent: String }, 'at debug, its component once, under its own key');
    t.notMatch(String(l.smtpMessage), /%[sd]/, `formatted: ${l.smtpMessage}`);
  }
});

t.test('a server that takes the whole message and never replies: uncertain at the deadline', async (t) => {
  const server = await smtpServer(t, () => false);
  const s = sender(t, server.port, { timeoutMs: 10_000, sendTimeoutMs: 1_500 });
  const outcome = await s.send(envelope({}, { subject: 'hang-after-data' }));
  t.equal(outcome.kind, 'uncertain');
  t.same(server.received, ['hang-after-data'], 'the server did get it: uncertain is the truth');
});

t.test('a connection dropped before DATA is not uncertain', async (t) => {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, session, callback) {
      (session as unknown as { socket?: Socket }).socket?.destroy();
      for (const c of (server as unknown as { connections: Set<{ _socket: Socket }> }).connections) c._socket.destroy();
      callback();
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const s = sender(t, (server.server.address() as { port: number }).port, { sendTimeoutMs: 2_000 });
  const outcome = await s.send(envelope());
  t.not(outcome.kind, 'uncertain', `${outcome.kind}`);
  t.not(outcome.kind, 'sent');
  t.not(outcome.kind, 'permanent');
});

t.test('BOUNCE_DOMAIN: the Return-Path (MAIL FROM) is the VERP address of the email; From: is untouched', async (t) => {
  const sink = await new SmtpSink().start();
  t.teardown(() => sink.stop());
  const s = sender(t, sink.url, { poolSize: 1, bounceDomain: 'bounces.example.com' });
  const e = envelope();
  t.match(await s.send(e), { kind: 'sent' });
  t.equal(sink.received[0]?.from, `bounces+${e.id}@bounces.example.com`, 'as the server recorded MAIL FROM');
  t.match(sink.received[0]?.raw, /^From: Sender <sender@example\.com>/m);
});

t.test('BOUNCE_DOMAIN with the VERP key: one transaction per recipient, each its own Return-Path, one message', async (t) => {
  const sink = await new SmtpSink().start();
  t.teardown(() => sink.stop());
  const key = Buffer.from('k'.repeat(64));
  const s = sender(t, sink.url, { poolSize: 1, bounceDomain: 'bounces.example.com', verpKey: () => key });
  const e = envelope({}, { to: ['One <one@example.net>', 'two@example.net'], cc: 'Three@example.net', bcc: 'four@example.net' });
  const outcome = await s.send(e);
  t.match(outcome, {
    kind: 'sent',
    accepted: ['one@example.net', 'two@example.net', 'Three@example.net', 'four@example.net'],
    refusals: [],
  });
  const recipients = ['one@example.net', 'two@example.net', 'Three@example.net', 'four@example.net'];
  t.same(
    sink.received.map((m) => [m.to, m.from]),
    recipients.map((r) => [[r], verpAddress(e.id, 'bounces.example.com', verpTag(key, e.id, r))]),
    'as the server recorded each MAIL FROM and RCPT TO: a tag per recipient',
  );
  t.equal(new Set(sink.received.map((m) => m.from)).size, 4, 'four Return-Paths');
  t.equal(new Set(sink.received.map((m) => m.raw)).size, 1, 'and one message, byte for byte (its Message-ID, its To: and Cc:)');
  t.notMatch(sink.received[0]?.raw, /^Bcc:/im, 'Bcc is not written');
});

t.test('one transaction per recipient: a refusal at RCPT is that recipient’s, the others are still sent', async (t) => {
  const sink = await new SmtpSink().start();
  t.teardown(() => sink.stop());
  sink.refuseRecipients.set('gone@example.net', { code: 550, message: '5.1.1 User unknown' });
  sink.refuseRecipients.set('later@example.net', { code: 450, message: '4.2.0 Greylisted' });
  const key = Buffer.from('k'.repeat(64));
  const s = sender(t, sink.url, { poolSize: 1, bounceDomain: 'bounces.example.com', verpKey: () => key });
  const e = envelope({}, { to: ['gone@example.net', 'kept@example.net', 'later@example.net'] });
  t.match(await s.send(e), {
    kind: 'sent',
    accepted: ['kept@example.net'],
    refusals: [
      { recipient: 'gone@example.net', response: /^550 5\.1\.1/ },
      { recipient: 'later@example.net', response: /^450 4\.2\.0/ },
    ],
  });
  t.same(
    sink.received.map((m) => m.to),
    [['kept@example.net']],
  );
  const none = envelope({}, { to: ['gone@example.net', 'later@example.net'] });
  t.match(
    await s.send(none),
    { kind: 'transient', refusals: [{ recipient: 'gone@example.net' }, { recipient: 'later@example.net' }] },
    'every one refused, one of them with a 4xx: transient',
  );
});

t.test('what the server records: our Message-ID written once, and each message its own part boundary', async (t) => {
  const sink = await new SmtpSink().start();
  t.teardown(() => sink.stop());
  const s = sender(t, sink.port);
  const emails = [envelope({}, { html: '<p>one</p>' }), envelope({}, { html: '<p>two</p>' })];
  for (const e of emails) t.match(await s.send(e), { kind: 'sent' });
  const raws = sink.received.map((m) => m.raw);
  t.equal(raws.length, 2);
  for (const [i, raw] of raws.entries()) {
    t.same(raw.match(/^Message-ID:.*$/gim), [`Message-ID: <${emails[i]?.id}@sender.test>`], 'one Message-ID header, ours');
  }
  const boundaries = raws.map((raw) => /boundary="([^"]+)"/.exec(raw)?.[1]);
  t.ok(boundaries[0] && boundaries[1], `multipart: ${boundaries.join(', ')}`);
  t.not(boundaries[0], boundaries[1], 'drawn for each message');
  t.ok((boundaries[0] ?? '').length <= 70, 'within the 70 characters RFC 2046 allows');
});

t.test('a send waiting for a pooled connection settles at its deadline, unsent; the slot is there for the next', async (t) => {
  let hang = true;
  const server = await smtpServer(t, () => !hang);
  const s = sender(t, server.port, { poolSize: 1, timeoutMs: 10_000, sendTimeoutMs: 1_500 });
  const [first, queued] = await Promise.all([
    s.send(envelope({}, { subject: 'holds the only connection' })),
    s.send(envelope({}, { subject: 'waits for it' })),
  ]);
  t.equal(first.kind, 'uncertain', 'the first was in DATA at its deadline');
  t.match(queued, { kind: 'transient', beforeData: false }, 'the waiting one never began: transient, not uncertain');
  t.same(server.received, ['holds the only connection'], 'the waiting one never reached the server');
  hang = false;
  t.match(await s.send(envelope({}, { subject: 'after' })), { kind: 'sent' }, 'the aborted connection gave its slot back');
});

t.test('a pooled connection the server ends with 421 before DATA: the email goes out on a fresh one, once', async (t) => {
  const received: string[] = [];
  let connections = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    // Every connection takes one message; at the next MAIL FROM it says it is closing.
    onMailFrom(_address, session, callback) {
      if ((session as unknown as { transaction: number }).transaction > 1)
        return callback(Object.assign(new Error('closing this channel'), { responseCode: 421 }));
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(/^Subject: (.*)$/m.exec(Buffer.concat(chunks).toString())?.[1]?.trim() ?? '');
        callback(null, 'Ok');
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const s = sender(t, (server.server.address() as { port: number }).port, { poolSize: 1 });
  for (const subject of ['one', 'two', 'three']) t.match(await s.send(envelope({}, { subject })), { kind: 'sent' }, subject);
  t.same(received, ['one', 'two', 'three'], 'each once');
  t.equal(connections, 3, 'a fresh connection for each refused reuse');
});

t.test('credentials in the URL: the sender logs in with them before it sends', async (t) => {
  const logins: string[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(`${auth.method} ${auth.username}:${auth.password}`);
      if (auth.password !== 'p@ss') return callback(new Error('Invalid username or password'));
      callback(null, { user: auth.username });
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback(null, 'Ok'));
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.server.address() as { port: number }).port;
  const withUrl = (url: string) => sender(t, url, { poolSize: 1 });
  t.match(await withUrl(`smtp://relay-user:p%40ss@127.0.0.1:${port}`).send(envelope()), { kind: 'sent' });
  t.same(logins, ['PLAIN relay-user:p@ss']);
  const refused = await withUrl(`smtp://relay-user:wrong@127.0.0.1:${port}`).send(envelope());
  t.match(refused, { kind: 'permanent', response: /^535/ }, 'a refused login is not sent');
});

t.test(
  'verify(): true for a server that takes us, false for a closed port and for one that never greets, by the greeting timeout',
  async (t) => {
    const server = await smtpServer(t);
    t.equal(await sender(t, server.port).verify(), true);
    t.equal(await sender(t, await freePort()).verify(), false, 'nothing listens there');
    const silentPort = await tcpServer(t);
    // A 500 ms greeting timeout (SMTP_TIMEOUT_MS is 10 s by default) so this waits under a second;
    // every e2e mailer verifies its relays at boot with the default.
    const started = Date.now();
    t.equal(await sender(t, silentPort, { timeoutMs: 500 }).verify(), false);
    t.ok(Date.now() - started < 2_000, `settled by its timeouts (${Date.now() - started} ms)`);
  },
);
