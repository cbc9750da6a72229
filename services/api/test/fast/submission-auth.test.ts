// test-plan: standalone
import t from 'tap';
import { KEY } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { authPlain, rawSession } from '../../../../test/helpers/smtp-raw.js';
import { AUTH_FAILURE_DELAY_MS, AUTH_FAILURES_PER_CONNECTION } from '../../src/submission/auth-guard.js';

// Guessing API keys over SMTP submission: smtp-server answered 200 wrong keys on one connection in
// 30 ms. Each wrong key is now answered after a second, and the third on a connection ends it.

async function session(port: number) {
  const s = await rawSession(port);
  const closed = new Promise<void>((r) => s.socket.on('close', () => r()));
  await s.next();
  /** Writes a command; resolves with its reply and how long it took. */
  const say = async (command: string) => {
    const started = performance.now();
    s.socket.write(`${command}\r\n`);
    const reply = await s.next();
    return { reply, ms: performance.now() - started };
  };
  await say('EHLO client.example');
  return { say, closed, end: () => s.socket.destroy() };
}

t.test('wrong keys over SMTP: each answered after a delay, the third on a connection ends it', async (t) => {
  t.equal(AUTH_FAILURES_PER_CONNECTION, 3);
  const { app } = await buildMemoryApi(t, { SUBMISSION_PORT: '0' });
  // The submission listener starts with the HTTP one.
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = app.submissionPort() as number;

  const guesser = await session(port);
  t.teardown(guesser.end);
  const first = await guesser.say(authPlain('guess-1'));
  t.match(first.reply, /^535 5\.7\.8 /, 'a wrong key: 535');
  t.ok(first.ms >= AUTH_FAILURE_DELAY_MS - 50, `answered after ${Math.round(first.ms)} ms`);
  // RSET and EHLO start a new transaction, not a new count.
  t.match((await guesser.say('RSET')).reply, /^250 /);
  t.match((await guesser.say('EHLO again.example')).reply, /^250 /);
  t.match((await guesser.say(authPlain('guess-2'))).reply, /^535 /, 'the second: 535');
  const third = await guesser.say(authPlain('guess-3'));
  t.match(third.reply, /^421 4\.7\.0 Too many failed authentications/, 'the third: 421');
  await guesser.closed;
  t.pass('and the connection is closed');

  const typo = await session(port);
  // Before the API's own teardown: its close waits for open SMTP sessions.
  t.teardown(typo.end);
  t.match((await typo.say(authPlain('a-typo'))).reply, /^535 /, 'one wrong key');
  const right = await typo.say(authPlain(KEY));
  t.match(right.reply, /^235 /, 'then the right one logs in, on the same connection');
  t.ok(right.ms < AUTH_FAILURE_DELAY_MS / 2, `at once (${Math.round(right.ms)} ms)`);
  t.match((await typo.say('MAIL FROM:<app@example.com>')).reply, /^250 /, 'and may send');
});
