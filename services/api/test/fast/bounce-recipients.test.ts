// test-plan: standalone

import { connect } from 'node:net';
import t from 'tap';
import { startMemoryBounceListener } from '../../../../test/helpers/memory-bounce-listener.js';
import { REPORT_MAX_RECIPIENTS } from '../../src/bounces/listener.js';

// A report goes to one VERP address. The listener keeps at most REPORT_MAX_RECIPIENTS of a
// transaction: smtp-server keeps every recipient it accepts, and one connection sending 200,000
// RCPT TO in the bounce domain (no DATA) grew the heap by 38 MB.

t.test('a transaction takes at most REPORT_MAX_RECIPIENTS recipients; the rest get 452 4.5.3', async (t) => {
  const { port, config } = await startMemoryBounceListener(t);
  const socket = connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  const lines: string[] = [];
  let partial = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\r\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter((l) => /^\d{3} /.test(l)));
  });
  const replies = async (n: number) => {
    for (let i = 0; i < 3_000 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return lines.slice(0, n);
  };
  t.match((await replies(1))[0], /^220 /);
  const sent = 2_000;
  const rcpts = Array.from({ length: sent }, (_, i) => `RCPT TO:<bounces+${i}@${config.BOUNCE_DOMAIN}>\r\n`).join('');
  socket.write(`EHLO sender.example\r\nMAIL FROM:<>\r\n${rcpts}`);
  const answers = (await replies(3 + sent)).slice(3);
  t.equal(answers.length, sent, 'every RCPT TO answered');
  t.ok(
    answers.slice(0, REPORT_MAX_RECIPIENTS).every((a) => a.startsWith('250 ')),
    `the first ${REPORT_MAX_RECIPIENTS} are taken`,
  );
  const rest = answers.slice(REPORT_MAX_RECIPIENTS);
  t.equal(rest.filter((a) => a.startsWith('452 4.5.3 ')).length, rest.length, 'every one after them gets 452 4.5.3');

  // A new transaction takes recipients again (RFC 5321: the sender sends the rest in another).
  lines.length = 0;
  socket.write(`RSET\r\nMAIL FROM:<>\r\nRCPT TO:<bounces+again@${config.BOUNCE_DOMAIN}>\r\n`);
  t.match(await replies(3), ['250 ', '250 ', '250 '], 'after RSET, a recipient is taken again');
});
