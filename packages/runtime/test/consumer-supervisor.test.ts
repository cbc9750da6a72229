// test-plan: standalone
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer } from 'kafkajs';
import t from 'tap';
import { ConsumerSupervisor } from '../src/consumer-supervisor.js';
import type { LogSink } from '../src/logger.js';

// A fake kafkajs consumer: what stop() does depends only on when disconnect() settles and
// whether a batch runs, so the consumer is the part faked. The real join that holds disconnect
// (coordinator down) is replayed by the chaos run (README, "The chaos run").
function fakeConsumer(disconnect: () => Promise<void>) {
  const emitter = new EventEmitter();
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash' },
    on: (event: string, fn: (...a: unknown[]) => void) => emitter.on(event, fn),
    disconnect,
  } as unknown as Consumer;
  return { consumer, join: () => emitter.emit('join', { payload: {} }) };
}

function recordingLog(): { log: LogSink; warned: { obj: Record<string, unknown>; msg: string }[] } {
  const warned: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = {
    warn: (obj: Record<string, unknown>, msg: string) => warned.push({ obj, msg }),
    error: () => {},
    info: () => {},
    debug: () => {},
  } as unknown as LogSink;
  return { log, warned };
}

// 50 ms instead of the 5 s default: the default's size is not what these cases check, and each
// case waits several rounds of it.
const WAIT_MS = 50;

async function started(disconnect: () => Promise<void>) {
  const { log, warned } = recordingLog();
  const fake = fakeConsumer(disconnect);
  const supervisor = new ConsumerSupervisor(
    () => fake.consumer,
    async () => {
      fake.join();
    },
    log,
    WAIT_MS,
  );
  await supervisor.run();
  return { supervisor, warned };
}

const never = () => new Promise<void>(() => {});
const settled = (p: Promise<unknown>) =>
  Promise.race([
    p.then(
      () => 'resolved',
      () => 'rejected',
    ),
    sleep(WAIT_MS * 4).then(() => 'pending'),
  ]);

t.test('a disconnect that leaves the group within the wait is awaited, and nothing is warned', async (t) => {
  let left = false;
  const { supervisor, warned } = await started(async () => {
    await sleep(WAIT_MS / 2);
    left = true;
  });
  t.ok(supervisor.ready, 'joined');
  await supervisor.stop();
  t.ok(left, 'stop returned once the group was left');
  t.notOk(supervisor.ready);
  t.same(warned, []);
});

t.test('with no batch running, a disconnect held by a join is not waited for', async (t) => {
  const { supervisor, warned } = await started(never);
  const began = performance.now();
  t.equal(await settled(supervisor.stop()), 'resolved', 'stop returns');
  t.ok(performance.now() - began >= WAIT_MS - 5, 'after giving kafkajs its leave wait');
  t.equal(warned.length, 1);
  t.match(warned[0]?.msg, /without waiting for kafkajs to disconnect/);
  t.type(warned[0]?.obj.waitedMs, 'number');
});

t.test('a batch that runs is waited for, however long the disconnect is held', async (t) => {
  const { supervisor, warned } = await started(never);
  let finish!: () => void;
  const batch = supervisor.counted(() => new Promise<void>((resolve) => (finish = resolve)));
  const running = batch({});
  const stopping = supervisor.stop();
  t.equal(await settled(stopping), 'pending', 'still waiting after several leave waits');
  t.same(warned, []);
  finish();
  await running;
  t.equal(await settled(stopping), 'resolved', 'stops once the batch is done');
  t.equal(warned.length, 1, 'and says it did not leave');
});

t.test('a batch that throws still counts as done', async (t) => {
  const { supervisor } = await started(never);
  const batch = supervisor.counted(async () => {
    throw new Error('handler failed');
  });
  await t.rejects(batch({}), /handler failed/);
  t.equal(await settled(supervisor.stop()), 'resolved');
});

t.test('a disconnect that fails fails the stop, as before', async (t) => {
  const { supervisor } = await started(() => Promise.reject(new Error('broker gone')));
  await t.rejects(supervisor.stop(), /broker gone/);
});

t.test('stop before any consumer was built returns at once', async (t) => {
  const { log } = recordingLog();
  const supervisor = new ConsumerSupervisor(
    () => {
      throw new Error('not built');
    },
    async () => {},
    log,
    WAIT_MS,
  );
  await supervisor.stop();
  t.pass('no consumer, nothing to leave');
});
