// test-plan: standalone

import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { startMemoryBounceListener } from '../../../../test/helpers/memory-bounce-listener.js';
import { clientOf, connectionLimits, SMTP_MAX_CONNECTIONS, SMTP_MAX_CONNECTIONS_PER_IP } from '../../src/smtp-connection-limit.js';

// Both SMTP listeners with their defaults (1,000 connections, 50 from one client). A client is
// told why with a 421 and may come back once one of its own connections has closed.

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

/** Opens a connection from `localAddress` and resolves with its first reply line. */
function open(port: number, localAddress = '127.0.0.1'): Promise<{ socket: Socket; greeting: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
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
