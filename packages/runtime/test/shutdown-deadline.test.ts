// test-plan: standalone
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import t from 'tap';
import { monotonicMs } from '../src/monotonic-clock.js';
import { ShutdownDeadline, shutdownPlugin } from '../src/shutdown-deadline.js';

const never = () => new Promise<void>(() => {});

function recorder() {
  const warnings: Array<Record<string, unknown>> = [];
  const log = {
    warn: (fields: Record<string, unknown>) => warnings.push(fields),
    fatal() {},
    error() {},
    info() {},
    debug() {},
    trace() {},
    child: () => log,
  };
  return { warnings, log: log as never };
}

t.test('waits share one deadline: a drain after a slow one gets only what is left', async (t) => {
  // 1,000 ms: drains end 200 ms before it (a fifth), closes 100 ms before it (a tenth).
  const { warnings, log } = recorder();
  const deadline = new ShutdownDeadline(1_000, log);
  const started = monotonicMs();
  deadline.begin();
  t.equal(await deadline.drain('first', sleep(600), 'nothing'), true, 'a wait that ends in time is waited for');
  t.equal(await deadline.drain('second', never(), 'records are redelivered'), false, 'a wait past the deadline is given up');
  const drained = monotonicMs() - started;
  // Each on its own bound would have waited 600 ms and then 800 ms more.
  t.ok(drained >= 790 && drained < 950, `the second drain ended at the shared deadline (${Math.round(drained)} ms)`);
  t.same(warnings, [{ step: 'second', left: 'records are redelivered', timeoutMs: 1_000 }], 'what stays where is logged');
  t.equal(deadline.drainLeftMs(), 0);
  t.equal(await deadline.drain('third', never(), 'x'), false, 'past it, a drain is not waited for at all');
  t.ok(monotonicMs() - started < 1_000);
  t.equal(await deadline.close('pool', never(), 'connections end'), false, 'a close is given up too');
  const closed = monotonicMs() - started;
  t.ok(closed >= 890 && closed < 1_000, `a close has until shortly before the forced exit (${Math.round(closed)} ms)`);
});

t.test('a close waits a second at most, however much time is left', async (t) => {
  const { warnings, log } = recorder();
  const deadline = new ShutdownDeadline(30_000, log);
  deadline.begin();
  const started = monotonicMs();
  t.equal(await deadline.close('ledger pool', never(), 'connections end'), false);
  const took = monotonicMs() - started;
  t.ok(took >= 990 && took < 1_500, `given up after ${Math.round(took)} ms, not 28 s`);
  t.same(warnings, [{ step: 'ledger pool', left: 'connections end', timeoutMs: 30_000 }]);
  t.equal(await deadline.close('quick', sleep(20), 'x'), true, 'a close that ends in time is waited for');
});

t.test('the clock starts at the first begin (or first wait), not at construction', async (t) => {
  const { log } = recorder();
  const deadline = new ShutdownDeadline(1_000, log);
  await sleep(300);
  const begun = monotonicMs();
  deadline.begin();
  await sleep(100);
  deadline.begin();
  const left = deadline.drainLeftMs();
  // 800 ms of draining from the first begin, whatever the sleeps took: from construction it would
  // be 300 ms less, from the second begin about 100 ms more.
  const expected = 800 - (monotonicMs() - begun);
  t.ok(Math.abs(left - expected) < 5, `counted from the first begin (${Math.round(left)} ms left, ${Math.round(expected)} expected)`);
});

t.test('an error of the work is the wait’s error; one after the deadline is not unhandled', async (t) => {
  const { log } = recorder();
  const deadline = new ShutdownDeadline(200, log);
  await t.rejects(deadline.drain('failing', Promise.reject(new Error('broken')), 'x'), /broken/);
  const late = sleep(300).then(() => {
    throw new Error('late');
  });
  t.equal(await deadline.drain('late', late, 'x'), false);
  // An unhandled rejection would fail the test process.
  await sleep(200);
});

t.test('the plugin starts the clock at close: onClose waits past it are given up and the close ends in time', async (t) => {
  const { warnings, log } = recorder();
  const app = Fastify({ loggerInstance: log });
  await app.register(shutdownPlugin, { timeoutMs: 1_000 });
  const order: string[] = [];
  app.addHook('onClose', async () => {
    order.push(String(await app.shutdown.drain('stuck', never(), 'events stay in the outbox')));
  });
  await app.ready();
  await sleep(1_100); // time before the close does not count
  const started = monotonicMs();
  await app.close();
  const took = monotonicMs() - started;
  t.same(order, ['false']);
  t.ok(took >= 790 && took < 1_000, `closed within its timeout (${Math.round(took)} ms)`);
  t.same(warnings.at(-1), { step: 'stuck', left: 'events stay in the outbox', timeoutMs: 1_000 });
});
