// test-plan: standalone

import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { KEY } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { startMemoryBounceListener } from '../../../../test/helpers/memory-bounce-listener.js';
import { proxyV2Header } from '../../../../test/helpers/proxy-v2-header.js';
import { swaks } from '../../../../test/helpers/smtp-clients.js';
import { clientOf } from '../../src/client-address.js';
import { connectionLimits, SMTP_MAX_CONNECTIONS, SMTP_MAX_CONNECTIONS_PER_IP } from '../../src/smtp-connection-limit.js';

// Both SMTP listeners with their defaults (1,000 connections, 50 from one client). A client is
// told why with a 421 and may come back once one of its own connections has closed. Behind a load
// balancer that sends a PROXY header, the client is the address the header names.

t.test('a client is an IPv4 address or an IPv6 /64', async (t) => {
  t.equal(clientOf('203.0.113.7'), '203.0.113.7');
  t.equal(clientOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  t.equal(clientOf('2001:db8:1:2::99'), '2001:db8:1:2::/64', 'another address of the same /64');
  t.equal(clientOf('2001:DB8:0001:0002:ffff::1'), '2001:db8:1:2::/64', 'spelled otherwise');
  t.equal(clientOf('2001:db8::1'), '2001:db8:0:0::/64', 'a compressed prefix');
  t.not(clientOf('2001:db8:1:3::1'), clientOf('2001:db8:1:2::1'), 'the next /64 is another client');
  t.equal(clientOf('::1'), '0:0:0:0::/64');
});

t.test('the share of one client, counted by session, given back on close', async (t) => {
  const refused: string[] = [];
  const limits = connectionLimits({
    total: 10,
    perIp: 2,
    refused: (client) => refused.push(client),
  });
  t.equal(limits.maxClients, 10);
  const admit = (id: string, remoteAddress: string) =>
    new Promise<Error | null | undefined>((resolve) => limits.onConnect?.({ id, remoteAddress } as never, resolve));
  t.equal(await admit('a', '2001:db8::1'), undefined);
  t.equal(await admit('b', '2001:db8::2'), undefined);
  t.match(await admit('c', '2001:db8::3'), { responseCode: 421, message: /^4\.7\.0 / }, 'a third from the same /64 is refused');
  t.equal(await admit('d', '198.51.100.1'), undefined, 'another client is not');
  limits.onClose?.({ id: 'c', remoteAddress: '2001:db8::3' } as never, () => {});
  t.match(await admit('e', '2001:db8::4'), { responseCode: 421 }, 'a refused one closing gives back nothing');
  limits.onClose?.({ id: 'a', remoteAddress: '2001:db8::1' } as never, () => {});
  t.equal(await admit('f', '2001:db8::5'), undefined, 'an admitted one closing makes room');
  limits.onClose?.(undefined as never, () => {});
  t.same(refused, ['2001:db8:0:0::/64', '2001:db8:0:0::/64']);
});

/** Opens a connection from `localAddress`, writes `first` if given, and resolves with the first reply line. */
function open(port: number, localAddress = '127.0.0.1', first?: string | Buffer): Promise<{ socket: Socket; greeting: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    if (first) socket.write(first);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', function read(chunk: string) {
      buffer += chunk;
      const line = buffer.split('\r\n')[0];
      if (buffer.includes('\r\n') && line) {
        socket.off('data', read);
        resolve({ socket, greeting: line });
      }
    });
    socket.on('error', reject);
  });
}

async function limitsHold(t: Test, port: number) {
  const held = await Promise.all(Array.from({ length: SMTP_MAX_CONNECTIONS_PER_IP }, () => open(port)));
  t.teardown(() => {
    for (const c of held) c.socket.destroy();
  });
  t.ok(
    held.every((c) => c.greeting.startsWith('220 ')),
    `${SMTP_MAX_CONNECTIONS_PER_IP} connections from one address are greeted`,
  );
  const over = await open(port);
  t.match(over.greeting, /^421 4\.7\.0 Too many connections from your address/, 'one more from it gets a 421');
  t.ok(await new Promise((resolve) => over.socket.once('close', () => resolve(true))), 'and is closed');
  const other = await open(port, '127.0.0.2');
  t.match(other.greeting, /^220 /, 'another address is greeted meanwhile');
  other.socket.destroy();

  held[0]?.socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const again = await open(port);
  t.match(again.greeting, /^220 /, 'once one of its connections closed, the address is greeted again');
  again.socket.destroy();

  // The total: many addresses, each within its share (127.0.0.0/8 is all loopback on Linux).
  const crowd: Socket[] = [];
  t.teardown(() => {
    for (const s of crowd) s.destroy();
  });
  // Open now: the first address's 49 (its 50th closed above).
  let fill = SMTP_MAX_CONNECTIONS - (SMTP_MAX_CONNECTIONS_PER_IP - 1);
  for (let host = 1; fill > 0; host++) {
    const n = Math.min(fill, SMTP_MAX_CONNECTIONS_PER_IP);
    const group = await Promise.all(Array.from({ length: n }, () => open(port, `127.0.1.${host}`)));
    crowd.push(...group.map((c) => c.socket));
    t.ok(
      group.every((c) => c.greeting.startsWith('220 ')),
      `${n} more from 127.0.1.${host} are greeted`,
    );
    fill -= n;
  }
  const last = await open(port, '127.0.2.1');
  t.match(last.greeting, /^421 /, `past ${SMTP_MAX_CONNECTIONS} in all, a new address gets a 421 too`);
  last.socket.destroy();
}

t.test('the bounce listener, with its defaults', async (t) => {
  const { port, config, outcome } = await startMemoryBounceListener(t);
  t.equal(config.BOUNCE_MAX_CONNECTIONS, SMTP_MAX_CONNECTIONS);
  t.equal(config.BOUNCE_MAX_CONNECTIONS_PER_IP, SMTP_MAX_CONNECTIONS_PER_IP);
  await limitsHold(t, port);
  t.equal(await outcome('too many connections'), 1, 'counted');
});

t.test('SMTP submission, with its defaults', async (t) => {
  const { app, config } = await buildMemoryApi(t, { SUBMISSION_PORT: '0' });
  t.equal(config.SUBMISSION_MAX_CONNECTIONS, SMTP_MAX_CONNECTIONS);
  t.equal(config.SUBMISSION_MAX_CONNECTIONS_PER_IP, SMTP_MAX_CONNECTIONS_PER_IP);
  await limitsHold(t, app.submissionPort() as number);
});

/** Opens a connection from a load balancer at `localAddress` that names `client` in a PROXY header; resolves with the first reply. */
function openVia(port: number, client: string, version: 1 | 2, localAddress = '127.0.0.1') {
  return open(port, localAddress, version === 1 ? `PROXY TCP4 ${client} 127.0.0.1 40000 ${port}\r\n` : proxyV2(client, port));
}

/** Behind a load balancer, a client is the address its PROXY header names, and only a listed balancer may name one. */
async function proxiedLimitsHold(t: Test, port: number, version: 1 | 2) {
  const held = await Promise.all(Array.from({ length: SMTP_MAX_CONNECTIONS_PER_IP }, () => openVia(port, '203.0.113.7', version)));
  t.teardown(() => {
    for (const c of held) c.socket.destroy();
  });
  t.ok(
    held.every((c) => c.greeting.startsWith('220 ')),
    `${SMTP_MAX_CONNECTIONS_PER_IP} connections of one client through the balancer are greeted`,
  );
  t.match((await openVia(port, '203.0.113.7', version)).greeting, /^421 4\.7\.0 /, 'one more of that client gets a 421');
  const other = await openVia(port, '198.51.100.9', version);
  t.match(other.greeting, /^220 /, "another client through the same balancer is greeted: the balancer's address is not a client");
  other.socket.destroy();

  // A listed balancer must send the header: a connection that starts with SMTP is closed.
  const bare = await open(port, '127.0.0.1', 'EHLO client.example\r\n');
  t.match(bare.greeting, /^\* BAD Invalid PROXY header/, 'the listed balancer without a header is refused');
  bare.socket.destroy();
  // Anyone else is a client of its own address: a header it sends is an unknown command, not an identity.
  const direct = await open(port, '127.0.0.2');
  t.match(direct.greeting, /^220 /, 'a direct connection is greeted before it says anything');
  const claimed = await reply(direct.socket, 'PROXY TCP4 203.0.113.7 127.0.0.1 40000 25\r\n');
  t.match(claimed, /^5\d\d /, 'and cannot claim another address');
  direct.socket.destroy();
}

/** Writes `line` and resolves with the next reply line. */
function reply(socket: Socket, line: string): Promise<string> {
  return new Promise((resolve) => {
    let buffer = '';
    socket.on('data', function read(chunk: string) {
      buffer += chunk;
      if (!buffer.includes('\r\n')) return;
      socket.off('data', read);
      resolve(buffer.split('\r\n')[0] ?? '');
    });
    socket.write(line);
  });
}

t.test('the bounce listener behind a load balancer that sends a PROXY header (BOUNCE_PROXY_FROM)', async (t) => {
  const { port, config } = await startMemoryBounceListener(t, { BOUNCE_PROXY_FROM: '127.0.0.1' });
  t.same(config.BOUNCE_PROXY_FROM, ['127.0.0.1']);
  await proxiedLimitsHold(t, port, 1);
});

t.test('SMTP submission behind a load balancer that sends a PROXY header (SUBMISSION_PROXY_FROM)', async (t) => {
  // A network (the balancer's nodes), and PROXY v2 (AWS NLB, HAProxy's send-proxy-v2).
  const { app, produced } = await buildMemoryApi(t, { SUBMISSION_PORT: '0', SUBMISSION_PROXY_FROM: '127.0.0.0/31, ::1' });
  const port = app.submissionPort() as number;
  await proxiedLimitsHold(t, port, 2);

  // swaks speaks the balancer's part (PROXY v1, then v2) and then submits an email, as any client does.
  for (const [version, family] of [
    ['1', 'TCP4'],
    ['2', 'AF_INET'],
  ] as const) {
    const sent = await swaks([
      ...['--server', `127.0.0.1:${port}`, '--proxy-version', version, '--proxy-family', family],
      ...[
        '--proxy-source',
        `192.0.2.1${version}`,
        '--proxy-source-port',
        '40001',
        '--proxy-dest',
        '127.0.0.1',
        '--proxy-dest-port',
        String(port),
      ],
      ...['--auth', 'PLAIN', '--auth-user', 'key', '--auth-password', KEY],
      ...['--from', 'orders@example.com', '--to', 'customer@example.net', '--header', `Subject: through the balancer, v${version}`],
    ]);
    t.equal(sent.code, 0, `v${version}: accepted`, { transcript: sent.transcript });
    t.equal(produced.length, Number(version), `v${version}: on the topic`);
  }
});

t.test('PROXY v2 from a balancer: its health check (LOCAL) is its own client; a header that is not one is closed', async (t) => {
  const { app } = await buildMemoryApi(t, { SUBMISSION_PORT: '0', SUBMISSION_PROXY_FROM: '127.0.0.1' });
  const port = app.submissionPort() as number;
  const local = await open(port, '127.0.0.1', proxyV2(null, port));
  t.match(local.greeting, /^220 /, 'LOCAL: greeted');
  local.socket.destroy();
  const wrongVersion = proxyV2('203.0.113.7', port);
  wrongVersion[12] = 0x31;
  t.equal(await closedWithout220(port, wrongVersion), true, 'version 3: closed, no greeting');
  const tooLong = Buffer.concat([proxyV2('203.0.113.7', port), Buffer.alloc(2_000)]);
  tooLong.writeUInt16BE(12 + 2_000, 14);
  t.equal(await closedWithout220(port, tooLong), true, 'a header over 1 KiB: closed, no greeting');
  const cut = proxyV2('203.0.113.7', port).subarray(0, 20);
  t.equal(await closedWithout220(port, cut, true), true, 'cut short and the socket ended: closed, no greeting');
});

t.test("closing the listener ends a balancer's connection still waiting for its header", async (t) => {
  const { app } = await buildMemoryApi(t, { SUBMISSION_PORT: '0', SUBMISSION_PROXY_FROM: '127.0.0.1' });
  const socket = connect({ port: app.submissionPort() as number, host: '127.0.0.1' });
  socket.on('error', () => {});
  const ended = new Promise<string>((resolve) => {
    let received = '';
    socket.on('data', (c) => (received += c));
    socket.on('close', () => resolve(received));
  });
  await new Promise<void>((resolve) => socket.write(proxyV2('203.0.113.7', 25).subarray(0, 10), () => resolve()));
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await app.close();
  // Not a speed figure: a connection left to wait would hold the close for the 10 s a header may take.
  t.ok(Date.now() - started < 5_000, `closed in ${Date.now() - started} ms, not after the header's 10 s`);
  t.equal(await ended, '', 'the connection ended, greeted with nothing');
});

/** A PROXY v2 header (HAProxy's proxy-protocol.txt, 2.2) naming `client` over TCP4, or LOCAL when null. */
function proxyV2(client: string | null, port: number): Buffer {
  if (client === null) return proxyV2Header(0, 0x00, []);
  return proxyV2Header(1, 0x11, [...client.split('.').map(Number), 127, 0, 0, 1, 0x9c, 0x40, port >> 8, port & 0xff]);
}

/** Sends `bytes` (and ends the socket if `end`): whether the server closed it without greeting. */
function closedWithout220(port: number, bytes: Buffer, end = false): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = '';
    socket.on('data', (c) => (received += c));
    socket.on('error', () => {});
    socket.on('close', () => resolve(!received.startsWith('220')));
    if (end) socket.end(bytes);
    else socket.write(bytes);
  });
}

t.test('a list of balancers that are not IP addresses or networks is refused at boot, in one sentence', async (t) => {
  await t.rejects(
    buildMemoryApi(t, { SUBMISSION_PROXY_FROM: 'lb.internal' }),
    /SUBMISSION_PROXY_FROM.*must be IP addresses or CIDR networks/,
  );
  for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/x'])
    await t.rejects(
      startMemoryBounceListener(t, { BOUNCE_PROXY_FROM: bad }),
      /BOUNCE_PROXY_FROM.*must be IP addresses or CIDR networks/,
      bad,
    );
  const { config } = await startMemoryBounceListener(t, { BOUNCE_PROXY_FROM: '10.0.0.0/8, fd00::/8, 192.0.2.1' });
  t.same(config.BOUNCE_PROXY_FROM, ['10.0.0.0/8', 'fd00::/8', '192.0.2.1'], 'networks and addresses');
});
