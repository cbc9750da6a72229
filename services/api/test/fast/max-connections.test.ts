// test-plan: standalone

import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { AUTH, email } from '../../../../test/helpers/api.js';
import { waitUntil } from '../../../../test/helpers/env.js';
import { eventually } from '../../../../test/helpers/mailer.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';

// The API's HTTP server with its default MAX_CONNECTIONS (10,000). The connections are opened by
// a child process: with the server's, they would pass this host's 20,000 descriptors a process.

/** Opens `n` idle connections to `port` in a child process; resolves once each is connected. */
async function holdConnections(port: number, n: number) {
  const code = `
    import { connect } from 'node:net';
    const sockets = [];
    let open = 0;
    for (let i = 0; i < ${n}; i++) {
      const s = connect(${port}, '127.0.0.1', () => { if (++open === ${n}) process.stdout.write('open\\n'); });
      s.on('error', () => {});
      sockets.push(s);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    }
    process.stdin.on('data', () => { sockets.pop()?.destroy(); process.stdout.write('closed one\\n'); });
    process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  const until = async (line: string, count = 1) => waitUntil(() => lines.filter((l) => l === line).length >= count, 60_000, 20);
  return { child, until };
}

t.test('past MAX_CONNECTIONS a new connection is closed at once, counted; the server carries on', async (t) => {
  const { app, config } = await buildMemoryApi(t);
  t.equal(config.MAX_CONNECTIONS, 10_000, 'the default');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/v1/emails`;
  const send = () =>
    fetch(url, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(email()) }).then(
      (r) => r.status,
      (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
    );

  const flood = await holdConnections(port, config.MAX_CONNECTIONS);
  // The server closes them at the end: their TIME_WAIT is then on its side, not on 10,000 of
  // the host's ephemeral ports.
  t.teardown(() => {
    app.server.closeAllConnections();
    flood.child.stdin.end();
  });
  t.ok(await flood.until('open'), `${config.MAX_CONNECTIONS} connections open`);
  t.ok(
    await eventually(
      async () => (await new Promise<number>((r) => app.server.getConnections((_e, n) => r(n)))) === config.MAX_CONNECTIONS,
      30_000,
      100,
    ),
    'the server holds them all',
  );

  const refused = await send();
  t.not(refused, 202, `one more is not served (${refused})`);
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /^postline_api_connections_refused_total [1-9]/m, 'counted');

  flood.child.stdin.write('x');
  t.ok(await flood.until('closed one'), 'one of them closed');
  t.ok(await eventually(async () => (await send()) === 202, 5_000, 50), 'a new connection is served again');
});
