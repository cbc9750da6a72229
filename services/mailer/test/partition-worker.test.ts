// test-plan: standalone

import type { EachBatchPayload } from 'kafkajs';
import t from 'tap';
import { mockClock, settle } from '../../../test/helpers/mock-clock.js';
import { processBatch } from '../src/partition-worker.js';
import type { HandleResult } from '../src/record-handler.js';
import { StallMonitor } from '../src/stall-monitor.js';

function payload(offsets: string[]) {
  const resolved: string[] = [];
  let paused = false;
  let heartbeats = 0;
  const p = {
    batch: { topic: 't', partition: 0, messages: offsets.map((offset) => ({ offset, key: null, value: null, headers: {} })) },
    resolveOffset: (o: string) => resolved.push(o),
    heartbeat: async () => {
      heartbeats++;
    },
    isRunning: () => true,
    isStale: () => false,
    pause: () => {
      paused = true;
      return () => {};
    },
  } as unknown as EachBatchPayload;
  return { p, resolved, paused: () => paused, heartbeats: () => heartbeats };
}

const options = (handle: (offset: string) => Promise<HandleResult>, concurrency = 3) => {
  const resumes: number[] = [];
  /** One entry per batch end: whether it committed as the mailer stopped. */
  const commits: boolean[] = [];
  const monitor = new StallMonitor(60_000);
  return {
    resumes,
    commits,
    monitor,
    o: {
      monitor,
      heartbeatMs: 20,
      concurrency,
      handle: (r: { message: { offset: string } }) => handle(r.message.offset),
      onDefer: () => {},
      onError: () => {},
      stopping: () => false,
      scheduleResume: (_resume: () => void, ms: number) => resumes.push(ms),
      commits: {
        afterBatch: async (_batch: unknown, stopping: boolean) => {
          commits.push(stopping);
        },
      },
    },
  };
};

t.test('offsets resolve in order even when records finish out of order', async (t) => {
  const { p, resolved } = payload(['0', '1', '2', '3']);
  const delays: Record<string, number> = { '0': 30, '1': 5, '2': 15, '3': 1 };
  const { o } = options(async (off) => {
    await new Promise((r) => setTimeout(r, delays[off]));
    return { kind: 'done' };
  });
  await processBatch(p, o as never);
  t.same(resolved, ['0', '1', '2', '3']);
});

t.test('a deferred record stops the batch: nothing at or after it is resolved, and the partition pauses', async (t) => {
  const { p, resolved, paused } = payload(['10', '11', '12', '13', '14']);
  const { o, resumes } = options(
    async (off) => (off === '12' ? { kind: 'defer', ms: 700, reason: 'ledger unavailable' } : { kind: 'done' }),
    1,
  );
  await processBatch(p, o as never);
  t.same(resolved, ['10', '11']);
  t.ok(paused());
  t.same(resumes, [700]);
});

t.test('a handler that throws is treated as deferred, never as done', async (t) => {
  const { p, resolved } = payload(['0', '1']);
  const { o } = options(async (off) => {
    if (off === '0') throw new Error('boom');
    return { kind: 'done' };
  });
  await processBatch(p, o as never);
  t.same(resolved, [], 'record 1 finished, but the gap at 0 keeps it unresolved');
});

t.test('at most `concurrency` records in flight', async (t) => {
  const { p } = payload(Array.from({ length: 20 }, (_, i) => String(i)));
  let now = 0;
  let max = 0;
  const { o } = options(async () => {
    max = Math.max(max, ++now);
    await new Promise((r) => setTimeout(r, 2));
    now--;
    return { kind: 'done' };
  }, 4);
  await processBatch(p, o as never);
  t.equal(max, 4);
});

// On node:test's mock clock: on the real one a starved CI process can miss beats it would not miss in use.
t.test('a slow batch heartbeats while it runs, not only at its end', async (t) => {
  const clock = mockClock(t, ['setTimeout', 'setInterval']);
  const { p, heartbeats } = payload(['0', '1']);
  const { o } = options(async () => {
    await new Promise((r) => setTimeout(r, 150));
    return { kind: 'done' };
  }, 1);
  let done = false;
  const batch = processBatch(p, o as never).then(() => (done = true));
  // 300 ms of work at one beat per 20 ms, in 10 ms steps (setImmediate, left real, lets the handler go on).
  for (let ms = 0; ms < 1_000 && !done; ms += 10) {
    await settle();
    clock.tick(10);
  }
  await batch;
  t.ok(heartbeats() >= 15, `heartbeats during the batch: ${heartbeats()}`);
});

t.test('the stall monitor sees each record start and finish, and a deferral as a pause', async (t) => {
  const { p } = payload(['5', '6', '7']);
  let seenInFlight: string | null = null;
  const { o, monitor } = options(async (off) => {
    if (off === '5') seenInFlight = monitor.oldestUnfinished()[0]?.offset ?? null;
    return off === '6' ? { kind: 'defer', ms: 10_000, reason: 'retry not due' } : { kind: 'done' };
  }, 1);
  await processBatch(p, o as never);
  t.equal(seenInFlight, '5', 'record 5 was in flight while its handler ran');
  t.same(
    monitor.oldestUnfinished().map((u) => u.offset),
    [null],
    'nothing left in flight',
  );
  (monitor as unknown as { position(t: string, p: number, lag: number): void }).position('t', 0, 2);
  t.same(monitor.stalls(), [], 'paused on purpose with lag: not a stall');
});

t.test('each batch ends with one commit call, which commits everything when the mailer is stopping', async (t) => {
  const running = options(async () => ({ kind: 'done' }));
  await processBatch(payload(['0', '1']).p, running.o as never);
  t.same(running.commits, [false], 'running: commit if the interval has passed');
  let stopping = false;
  const stopped = options(async () => {
    stopping = true;
    return { kind: 'done' };
  }, 1);
  stopped.o.stopping = () => stopping;
  await processBatch(payload(['0', '1']).p, stopped.o as never);
  t.same(stopped.commits, [true], 'stopping mid-batch: commit all that was resolved');
});

t.test(
  'a record whose handling throws is tried again in a second, and the stall monitor counts it as failing, not as movement',
  async (t) => {
    const { p, resolved } = payload(['5', '6']);
    let now = 0;
    const monitor = new StallMonitor(1_000, () => now);
    const errors: unknown[] = [];
    const deferrals: string[] = [];
    const { o, resumes } = options(async (off) => {
      if (off === '5') throw new Error('retry topic refused the produce');
      return { kind: 'done' };
    }, 1);
    Object.assign(o, { monitor, onError: (e: unknown) => errors.push(e), onDefer: (r: string) => deferrals.push(r) });
    await processBatch(p, o as never);
    t.same(resolved, [], 'nothing resolved past the failed record');
    t.same(resumes, [1_000], 'resumed in a second');
    t.equal(errors.length, 1, 'the error is reported');
    t.same(deferrals, ['error'], 'and counted as a deferral for an error');
    now += 1_500;
    t.same(
      monitor.stalls().map((s) => [s.partition, s.failing]),
      [[0, true]],
      'failing for 1.5 s with a 1 s stall timeout: stalled',
    );
  },
);
