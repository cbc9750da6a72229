// test-plan: standalone

import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { email, KEY, OTHER_KEY } from '../../../../test/helpers/api.js';
import { waitUntil } from '../../../../test/helpers/env.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';

// The defaults: 24 MiB of room, and a chunked body holds BODY_LIMIT_BYTES (4 MiB). One account
// holds all but one largest body. Its uploads here keep sending a chunk every 2 s: they are not
// stalled (BODY_IDLE_MS), only slow.

function chunkedUpload(port: number, key: string): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(
    `POST /v1/emails HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`,
  );
  return socket;
}

t.test('one account slowly uploading six bodies does not keep another account out', async (t) => {
  // Submission on, as it is by default (the in-memory tier turns it off): its 5 MiB is the largest body.
  const { app, config } = await buildMemoryApi(t, { SUBMISSION_PORT: '0' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const budget = app.bodyBudget;
  t.equal(budget.share, config.BODY_BYTES_IN_FLIGHT - config.largestBody, 'its share: 24 MiB less the largest body');

  const uploads = Array.from({ length: 6 }, () => chunkedUpload(port, KEY));
  const trickle = setInterval(() => {
    for (const s of uploads) s.write('1\r\n \r\n');
  }, 2_000);
  t.teardown(() => {
    clearInterval(trickle);
    for (const s of uploads) s.destroy();
  });
  // A share of 19 MiB: four uploads of 4 MiB.
  const fit = Math.floor(budget.share / config.BODY_LIMIT_BYTES);
  t.equal(fit, 4);
  const held = fit * config.BODY_LIMIT_BYTES;
  t.ok(await waitUntil(() => budget.inUse === held, 5_000, 10), `${fit} of them hold ${held} bytes`);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(budget.inUse, held, 'the other two wait: a fifth would pass the share, though 8 MiB are free');

  const started = Date.now();
  const other = await fetch(`http://127.0.0.1:${port}/v1/emails`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OTHER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(email({ text: 'x'.repeat(3 * 1024 * 1024) })),
  });
  t.equal(other.status, 202, "another account's 3 MiB email is accepted");
  t.ok(Date.now() - started < 5_000, `at once (${Date.now() - started} ms), not after waiting for room`);
});
