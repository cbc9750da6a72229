// test-plan: standalone
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { WebhookPoster } from '../src/post.js';

type Handler = (req: IncomingMessage, res: ServerResponse, nth: { onConnection: number; overall: number }) => void;

/** A receiver that counts its connections and requests; `handle` decides each answer. */
async function receiver(t: Test, handle: Handler) {
  let connections = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    const socket = req.socket as typeof req.socket & { served?: number };
    socket.served = (socket.served ?? 0) + 1;
    requests++;
    req.resume();
    req.on('end', () => handle(req, res, { onConnection: socket.served ?? 1, overall: requests }));
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const open = () => new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    counts: () => ({ connections, requests }),
    open,
  };
}

const poster = (t: Test) => {
  const p = new WebhookPoster({ allowPrivate: true, resolve: async () => [] }, 5_000);
  t.teardown(() => p.close());
  return p;
};
const body = JSON.stringify({ type: 'email.sent', data: { emailId: 'e1' } });

t.test('deliveries to one endpoint share a kept-alive connection', async (t) => {
  const r = await receiver(t, (_req, res) => res.writeHead(200).end());
  const p = poster(t);
  for (let i = 0; i < 5; i++) t.equal((await p.post(r.url, { 'webhook-id': `evt_${i}` }, body)).status, 200);
  t.same(r.counts(), { connections: 1, requests: 5 }, 'five deliveries, one connection (a new one each before)');
});

t.test('a kept connection the receiver drops as we write on it: the delivery goes again on a new one', async (t) => {
  // What a receiver closing an idle connection at that moment looks like: the request is read, never answered.
  const r = await receiver(t, (req, res, nth) => (nth.onConnection === 2 ? req.socket.destroy() : res.writeHead(200).end()));
  const p = poster(t);
  t.equal((await p.post(r.url, {}, body)).status, 200, 'first delivery');
  const second = await p.post(r.url, {}, body);
  t.equal(second.status, 200, 'the second delivery arrives');
  t.equal(second.error, null);
  t.same(r.counts(), { connections: 2, requests: 3 }, 'its first try died with the kept connection; the second went on a new one');
});

t.test('a reset on a new connection is the attempt failing, not tried again here', async (t) => {
  const r = await receiver(t, (req) => req.socket.destroy());
  const result = await poster(t).post(r.url, {}, body);
  t.equal(result.status, null);
  t.match(result.error, /ECONNRESET/);
  t.same(r.counts(), { connections: 1, requests: 1 }, 'one request: the retry schedule decides when the next is');
});

t.test('an answer past 64 KiB is cut off, and its connection is not kept', async (t) => {
  const r = await receiver(t, (_req, res, nth) => res.writeHead(200).end(nth.overall === 1 ? 'x'.repeat(256 * 1024) : ''));
  const p = poster(t);
  t.equal((await p.post(r.url, {}, body)).status, 200, 'the status still counts');
  t.equal((await p.post(r.url, {}, body)).status, 200);
  t.equal(r.counts().connections, 2, 'the second delivery needed a new connection');
});

t.test('close() closes the kept connections', async (t) => {
  const r = await receiver(t, (_req, res) => res.writeHead(200).end());
  const p = new WebhookPoster({ allowPrivate: true, resolve: async () => [] }, 5_000);
  await p.post(r.url, {}, body);
  t.equal(await r.open(), 1, 'kept open after the delivery');
  p.close();
  for (let i = 0; i < 50 && (await r.open()) > 0; i++) await new Promise((res) => setTimeout(res, 20));
  t.equal(await r.open(), 0, 'closed');
});

t.test('an address the policy refuses is never connected to', async (t) => {
  const r = await receiver(t, (_req, res) => res.writeHead(200).end());
  const p = new WebhookPoster({ allowPrivate: false, resolve: async () => [{ address: '127.0.0.1', family: 4 }] }, 5_000);
  t.teardown(() => p.close());
  t.match((await p.post(r.url, {}, body)).error, /not a public address/, 'a literal private IP');
  t.match((await p.post(r.url.replace('127.0.0.1', 'receiver.test'), {}, body)).error, /not public/, 'a name that resolves to one');
  t.same(r.counts(), { connections: 0, requests: 0 });
});
