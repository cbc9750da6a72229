// test-plan: standalone

import type { EachBatchPayload } from 'kafkajs';
import t from 'tap';
import { mockClock, settle } from '../../../test/helpers/mock-clock.js';
import { processBatch } from '../src/partition-worker.js';
import type { HandleResult } from '../src/record-handler.js';
import { RejoinSignal } from '../src/rejoin-signal.js';
import { StallMonitor } from '../src/stall-monitor.js';

/** A fetched batch of `offsets`; `heartbeat` answers each of its heartbeats (1 for the first). */
function payload(offsets: string[], heartbeat: (n: number) => Promise<void> = async () => {}) {
  const resolved: string[] = [];
  let paused = false;
  let heartbeats = 0;
  const p = {
    batch: { topic: 't', partition: 0, messages: offsets.map((offset) => ({ offset, key: null, value: null, headers: {} })) },
    resolveOffset: (o: string) => resolved.push(o),
    heartbeat: async () => heartbeat(++heartbeats),
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
      rejoin: new RejoinSignal(),
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

/** What kafkajs throws for a heartbeat the coordinator answers with `type`. */
const protocolError = (type: string) => Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type });

t.test(
  'a heartbeat that says the group is rebalancing stops the batch: the sends in flight end and are resolved and committed, nothing new starts, and the batch throws it for kafkajs to rejoin',
  async (t) => {
    const rebalancing = protocolError('REBALANCE_IN_PROGRESS');
    const { p, resolved } = payload(['0', '1', '2', '3', '4', '5', '6', '7'], async (n) => {
      if (n >= 2) throw rebalancing;
    });
    const started: string[] = [];
    const { o, commits } = options(async (off) => {
      started.push(off);
      await new Promise((r) => setTimeout(r, 50));
      return { kind: 'done' };
    }, 2);
    o.heartbeatMs = 30;
    await t.rejects(processBatch(p, o as never), rebalancing, 'the heartbeat’s error, for the runner');
    t.ok(started.length < 8, `not every record started (${started.join(' ')})`);
    t.same(resolved, started, 'every record started was finished and resolved, in order');
    t.same(commits, [false], 'and committed as a batch end does');

    // Another partition's batch, fetched before the member rejoined: it takes nothing.
    const other = payload(['20', '21']);
    started.length = 0;
    await t.rejects(processBatch(other.p, o as never), rebalancing);
    t.same(started, [], 'no record of a batch fetched before the rejoin starts');

    o.rejoin.joined();
    await processBatch(other.p, o as never);
    t.same(started, ['20', '21'], 'once joined again, batches run');
  },
);

t.test('a heartbeat that fails otherwise (a timeout) leaves the batch to run', async (t) => {
  const { p, resolved } = payload(['0', '1', '2'], async () => {
    throw Object.assign(new Error('Request Heartbeat timed out'), { name: 'KafkaJSRequestTimeoutError' });
  });
  const { o } = options(async () => {
    await new Promise((r) => setTimeout(r, 30));
    return { kind: 'done' };
  }, 1);
  o.heartbeatMs = 10;
  await processBatch(p, o as never);
  t.same(resolved, ['0', '1', '2']);
  t.equal(o.rejoin.pending, null);
});

t.test('the errors that make a member rejoin are kept; others are not', async (t) => {
  for (const type of ['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']) {
    const signal = new RejoinSignal();
    signal.heard(protocolError(type));
    t.equal(signal.pending?.message, type, type);
  }
  const signal = new RejoinSignal();
  signal.heard(protocolError('COORDINATOR_LOAD_IN_PROGRESS'));
  signal.heard(new Error('socket hang up'));
  signal.heard(null);
  t.equal(signal.pending, null);
});
