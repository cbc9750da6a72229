// test-plan: standalone

import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import t from 'tap';
import { KEY } from '../../../../test/helpers/api.js';
import { waitUntil } from '../../../../test/helpers/env.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { BODY_IDLE_MS, REQUEST_CHECK_MS, REQUEST_TIMEOUT_MS } from '../../src/body-watch.js';

/** Sends a POST's head, then one byte of its body every `everyMs`: never idle, never done. */
function trickle(port: number, auth: string, everyMs: number) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  socket.on('error', () => {});
  socket.write(`POST /v1/emails HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
  const timer = setInterval(() => socket.write(' '), everyMs);
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Date.now());
    }),
  );
  // Bounded, so that a failure does not hang the file.
  const closedWithin = (ms: number) => Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(Number.NaN), ms))]);
  return { closedWithin, destroy: () => socket.destroy(), received: () => received };
}

// Production defaults: a minute (REQUEST_TIMEOUT_MS), checked every REQUEST_CHECK_MS.
t.test('a request that trickles in is cut after REQUEST_TIMEOUT_MS, with or without a key', async (t) => {
  const { app } = await buildMemoryApi(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const started = Date.now();
  // Under BODY_IDLE_MS between bytes, so only the whole request's deadline can cut it.
  const keyed = trickle(port, `Authorization: Bearer ${KEY}\r\n`, BODY_IDLE_MS / 5);
  // Without a key it is answered 401 at once, and what it goes on sending is read and dropped.
  const anonymous = trickle(port, '', BODY_IDLE_MS / 5);
  await t.resolveMatch(
    waitUntil(() => app.bodyBudget.inUse === 100_000, 5_000, 10),
    true,
    'the keyed upload holds its room',
  );

  const bound = REQUEST_TIMEOUT_MS + REQUEST_CHECK_MS + 2_000;
  const keyedAt = await keyed.closedWithin(bound);
  t.ok(keyedAt - started >= REQUEST_TIMEOUT_MS - 1_000, `the keyed upload held on until the deadline (${keyedAt - started} ms)`);
  t.ok(keyedAt - started <= bound, 'and no longer');
  t.match(keyed.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  t.match(keyed.received(), /content-type: application\/problem\+json/i);
  t.match(keyed.received(), /"code":"EMAIL_ERR_REQUEST_TIMEOUT"/);
  // Given back on the server's close of the response, which this process may see after the
  // client's close: one CI run read 100,000 still held at the client's close.
  await t.resolveMatch(
    waitUntil(() => app.bodyBudget.inUse === 0, 2_000, 10),
    true,
    'its room is given back',
  );

  const anonymousAt = await anonymous.closedWithin(bound - (Date.now() - started));
  t.match(anonymous.received(), /^HTTP\/1\.1 401 Unauthorized\r\n/, 'the anonymous one was answered 401 at once');
  t.ok(
    anonymousAt - started <= REQUEST_TIMEOUT_MS + REQUEST_CHECK_MS + 2_000,
    `and its connection closed at the deadline (${anonymousAt - started} ms)`,
  );
  keyed.destroy();
  anonymous.destroy();
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /postline_api_requests_rejected_total\{code="EMAIL_ERR_REQUEST_TIMEOUT"\} 2/);
});
