// test-plan: standalone
import { connect, createServer, type Socket } from 'node:net';
import { setImmediate as oneImmediate } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { nextTurn } from '../../src/next-turn.js';

/**
 * From a socket's data callback (where a request's body ends), `yieldFn` runs while a timer is due
 * and another connection's bytes wait to be read: what each of them has seen by the time it resolves.
 */
async function fromDataCallback(t: Test, yieldFn: () => Promise<void>): Promise<{ timer: boolean; otherSocket: boolean }> {
  let otherSocket = false;
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('data', (chunk) => {
      if (String(chunk) === 'other') otherSocket = true;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  const open = () =>
    new Promise<Socket>((r) => {
      const c = connect(port, '127.0.0.1', () => r(c));
    });
  const [first, other] = [await open(), await open()];
  t.teardown(() => {
    first.destroy();
    other.destroy();
  });
  // Until the server has accepted both.
  while (sockets.length < 2) await new Promise((r) => setTimeout(r, 5));
  return new Promise((resolve) => {
    const onFirst = async (chunk: Buffer) => {
      if (String(chunk) !== 'first') return;
      let timer = false;
      setTimeout(() => (timer = true), 0);
      other.write('other');
      // The timer is due and the other socket's bytes are in the kernel before the yield.
      const until = performance.now() + 20;
      while (performance.now() < until);
      await yieldFn();
      resolve({ timer, otherSocket });
    };
    for (const s of sockets) s.on('data', onFirst);
    first.write('first');
  });
}

t.test('from an I/O callback, nextTurn lets due timers and other sockets run before it resolves', async (t) => {
  t.same(await fromDataCallback(t, nextTurn), { timer: true, otherSocket: true });
});

t.test('one setImmediate does not: it resolves in the same loop iteration, before either', async (t) => {
  // Why nextTurn takes two: this is the loop's order the helper relies on, checked on this Node.
  t.same(await fromDataCallback(t, () => oneImmediate()), { timer: false, otherSocket: false });
});
