// test-plan: standalone

import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { AUTH, email, KEY, OTHER_KEY } from '../../../../test/helpers/api.js';
import { waitUntil } from '../../../../test/helpers/env.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { authPlain, startMessage } from '../../../../test/helpers/smtp-raw.js';
import { BODY_IDLE_MS, WATCHED_FROM_BYTES } from '../../src/body-watch.js';
import { SMTP_ROOM_BLOCK } from '../../src/smtp-budgeted-data.js';

/** A raw HTTP/1.1 client: what it wrote, everything it got back, and when the server closed. */
function rawClient(port: number, head: string) {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  socket.write(head);
  return { socket, closed, received: () => received };
}

const chunkedHead = (key: string) =>
  `POST /v1/emails HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;

/** When `closed` resolved, or NaN if it had not within `ms` (so that a failure does not hang the file). */
const within = (closed: Promise<number>, ms: number) =>
  Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(Number.NaN), ms))]);

/** The status line and the parsed problem of a raw answer. */
function answerOf(raw: string): { status: string; headers: string; problem: { code?: string; status?: number } } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  let problem = {};
  try {
    problem = JSON.parse(body);
  } catch {}
  return { status: head.split('\r\n')[0] ?? '', headers: head.toLowerCase(), problem };
}

t.test(
  'uploads that stall mid-body give their room back after BODY_IDLE_MS (defaults: 24 MiB of room, 4 MiB a chunked body)',
  async (t) => {
    const { app } = await buildMemoryApi(t);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;

    // Six chunked uploads (each holds BODY_LIMIT_BYTES) that send a few bytes and then nothing:
    // hung clients, or a network partition that leaves their connections open. Three from each of
    // two accounts: one account holds at most the room less one largest body (BodyBudget.share).
    const stalled = Array.from({ length: 6 }, (_, i) => rawClient(port, `${chunkedHead(i % 2 ? OTHER_KEY : KEY)}5\r\n{"fro\r\n`));
    await t.resolveMatch(
      waitUntil(() => app.bodyBudget.inUse === app.bodyBudget.capacity, 5_000, 10),
      true,
      'six stalled chunked uploads hold all of BODY_BYTES_IN_FLIGHT',
    );
    const stalledAt = Date.now();

    // An ordinary email waits for room (up to BODY_WAIT_MS, as long as the stall), and is accepted once the stalls are cut.
    const ordinary = await fetch(`http://127.0.0.1:${port}/v1/emails`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(email()),
    });
    const waited = Date.now() - stalledAt;
    t.equal(ordinary.status, 202, `an ordinary email is accepted after ${waited} ms, not refused as busy`);
    t.ok(waited >= BODY_IDLE_MS - 500, 'it waited for the stalls to be cut, not less');

    for (const [i, client] of stalled.entries()) {
      const closedAt = await within(client.closed, Math.max(0, stalledAt + BODY_IDLE_MS + 2_000 - Date.now()));
      const answer = answerOf(client.received());
      t.equal(answer.status, 'HTTP/1.1 408 Request Timeout', `stalled upload ${i}: 408`);
      t.match(answer.headers, /content-type: application\/problem\+json/);
      t.match(answer.headers, /connection: close/);
      t.match(answer.problem, { code: 'EMAIL_ERR_BODY_TIMEOUT', status: 408 });
      t.ok(closedAt - stalledAt < BODY_IDLE_MS + 2_000, `and its connection closed ${closedAt - stalledAt} ms after it stalled`);
      client.socket.destroy();
    }
    t.equal(app.bodyBudget.inUse, 0, 'every stalled upload gave its room back');
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    t.match(metrics.body, /postline_api_requests_rejected_total\{code="EMAIL_ERR_BODY_TIMEOUT"\} 6/);
  },
);

t.test('an upload that is slow but keeps sending is not cut: the bound is between bytes', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  // Over WATCHED_FROM_BYTES, so the idle bound applies to it.
  const body = JSON.stringify(email({ text: 'slow '.repeat(WATCHED_FROM_BYTES / 4) }));
  t.ok(body.length > WATCHED_FROM_BYTES);
  const quarter = Math.ceil(body.length / 4);
  const parts = [0, 1, 2, 3].map((i) => body.slice(i * quarter, (i + 1) * quarter));
  const client = rawClient(
    port,
    `POST /v1/emails HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
  );
  const started = Date.now();
  // Gaps of 60 % of BODY_IDLE_MS: the whole body takes 1.8 times it.
  for (const part of parts) {
    await new Promise((r) => setTimeout(r, BODY_IDLE_MS * 0.6));
    client.socket.write(part);
  }
  t.ok(await within(client.closed, BODY_IDLE_MS * 2), 'answered');
  t.ok(Date.now() - started > BODY_IDLE_MS * 1.5, 'the upload took longer than BODY_IDLE_MS in all');
  t.equal(answerOf(client.received()).status, 'HTTP/1.1 202 Accepted');
  t.equal(produced.length, 1, 'and its email was queued');
  t.equal(app.bodyBudget.inUse, 0);
});

t.test('what Node refuses before fastify (malformed, headers too large) is application/problem+json too', async (t) => {
  const { app } = await buildMemoryApi(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const cases = [
    { head: 'NOT HTTP AT ALL\r\n\r\n', status: 'HTTP/1.1 400 Bad Request', code: 'EMAIL_ERR_BAD_HTTP' },
    {
      head: `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`,
      status: 'HTTP/1.1 431 Request Header Fields Too Large',
      code: 'EMAIL_ERR_HEADERS_TOO_LARGE',
    },
  ];
  for (const c of cases) {
    const client = rawClient(port, c.head);
    t.ok(await within(client.closed, 5_000), 'the connection is closed');
    const answer = answerOf(client.received());
    t.equal(answer.status, c.status);
    t.match(answer.headers, /content-type: application\/problem\+json/);
    t.match(answer.problem, { code: c.code });
  }
});

t.test('a submission that stalls mid-DATA gives its room back after BODY_IDLE_MS, and is answered 451 if it ever ends', async (t) => {
  const { app, produced } = await buildMemoryApi(t, { SUBMISSION_PORT: '0' });
  const stalled = await startMessage(app.submissionPort() as number, [
    authPlain(KEY),
    'MAIL FROM:<sender@example.com>',
    'RCPT TO:<someone@example.net>',
  ]);
  t.teardown(() => stalled.destroy());
  await t.resolveMatch(
    waitUntil(() => app.bodyBudget.inUse === SMTP_ROOM_BLOCK, 5_000, 10),
    true,
    'in DATA, with a line sent: it holds one block',
  );
  const stalledAt = Date.now();
  await t.resolveMatch(
    waitUntil(() => app.bodyBudget.inUse === 0, BODY_IDLE_MS + 2_000, 50),
    true,
    'its room is given back',
  );
  t.ok(Date.now() - stalledAt >= BODY_IDLE_MS - 500, `after ${Date.now() - stalledAt} ms without a byte`);

  let reply = '';
  stalled.on('data', (chunk) => (reply += chunk));
  stalled.write('\r\nand the rest, late\r\n.\r\n');
  await t.resolveMatch(
    waitUntil(() => /^\d{3} /m.test(reply), 5_000, 10),
    true,
    'the late end is answered',
  );
  t.match(reply, /^451 4\.4\.2 /m, `a 4xx the client retries: ${reply.trim()}`);
  t.equal(produced.length, 0, 'and nothing of it was queued');
  t.equal(app.bodyBudget.inUse, 0);
});
