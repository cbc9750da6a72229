// test-plan: standalone

import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import t from 'tap';
import { KEY } from '../../../../test/helpers/api.js';
import { waitUntil } from '../../../../test/helpers/env.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { WATCHED_FROM_BYTES } from '../../src/body-watch.js';

// A client that closes its connection mid-body (a killed process, a timed-out proxy) is not a
// client that sent bad JSON, and not a server fault: it is counted under its own code, and the
// Resend routes no longer answer it as an unhandled error (a 500 and an error line).

/** Declares `declared` bytes, sends `sent` of them, then closes the connection. */
async function abortUpload(port: number, path: string, declared: number, sent: number): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
  );
  socket.write(`{"from":"${'x'.repeat(sent - 9)}`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.destroy();
}

for (const declared of [2_000, WATCHED_FROM_BYTES * 2]) {
  t.test(`an upload of ${declared} bytes the client abandons is counted as aborted, on /v1 and /resend`, async (t) => {
    const lines: string[] = [];
    const { app } = await buildMemoryApi(t, { LOG_LEVEL: 'info' }, { write: (line) => lines.push(line) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;

    await abortUpload(port, '/v1/emails', declared, 1_000);
    await abortUpload(port, '/resend/emails', declared, 1_000);
    t.ok(await waitUntil(() => app.bodyBudget.inUse === 0, 5_000, 10), 'both gave their room back');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    t.match(metrics, /postline_api_requests_rejected_total\{code="EMAIL_ERR_CLIENT_ABORTED"\} 2/, 'counted as aborted, twice');
    t.notMatch(metrics, /code="FST_ERR_CTP_INVALID_JSON_BODY"/, 'not as invalid JSON');
    t.notMatch(metrics, /code="ECONNRESET"/, 'not under a socket error code');
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);
    t.same(errors, [], 'no error line: the client went away, nothing failed here');
  });
}
