// test-plan: standalone

import t from 'tap';
import { mockClock, settle } from '../../../test/helpers/mock-clock.js';
import { type Committer, OffsetCommits } from '../src/offset-commits.js';

const UNCOMMITTED = { topics: [{ topic: 't', partitions: [{ partition: 0, offset: '7' }] }] };

/** A batch's commit handles that record each call: 'due' (kafkajs decides by its interval) or 'all'. */
function batch(fail = false) {
  const calls: string[] = [];
  const c: Committer = {
    commitOffsetsIfNecessary: async (offsets?: unknown) => {
      calls.push(offsets === UNCOMMITTED ? 'all' : offsets === undefined ? 'due' : 'other');
      if (fail) throw new Error('REBALANCE_IN_PROGRESS');
    },
    uncommittedOffsets: () => UNCOMMITTED,
  };
  return { c, calls };
}

const logs = () => {
  const warned: string[] = [];
  return { warned, log: { warn: (_o: unknown, m: string) => warned.push(m), debug: () => {} } as never };
};

t.test('a batch asks kafkajs to commit if its interval passed; a stopping one commits everything', async (t) => {
  const commits = new OffsetCommits(1_000, logs().log);
  const b = batch();
  await commits.afterBatch(b.c, false);
  await commits.afterBatch(b.c, true);
  t.same(b.calls, ['due', 'all']);
  t.same(commits.runOptions, { autoCommit: false, autoCommitInterval: 1_000 }, 'kafkajs keeps the interval and does not commit on its own');
});

t.test('the timer commits what the newest batch left, each interval, until closed', async (t) => {
  const clock = mockClock(t, ['setInterval']);
  const commits = new OffsetCommits(1_000, logs().log);
  const older = batch();
  const newer = batch();
  await commits.afterBatch(older.c, false);
  await commits.afterBatch(newer.c, false);
  commits.start();
  await clock.advance(999);
  t.same(newer.calls, ['due'], 'not before the interval');
  await clock.advance(1);
  await clock.advance(1_000);
  t.same(newer.calls, ['due', 'due', 'due'], 'once an interval, through the newest batch');
  t.same(older.calls, ['due'], 'never through an older one');
  await commits.close();
  t.same(newer.calls.slice(3), ['all'], 'closing commits everything');
  await clock.advance(5_000);
  t.equal(newer.calls.length, 4, 'nothing timed after close');
});

/** A kafkajs consumer's `events` and `on`, with its listeners kept to call. */
function fakeConsumer() {
  const listeners = new Map<string, () => void>();
  const consumer = {
    events: { COMMIT_OFFSETS: 'commit', REBALANCING: 'rebalancing' },
    on: (e: string, f: () => void) => listeners.set(e, f),
  };
  return { consumer: consumer as never, emit: (e: string) => listeners.get(e)?.() };
}

t.test('an attached consumer: its commits are counted, a rebalance commits everything', async (t) => {
  const commits = new OffsetCommits(1_000, logs().log);
  const { consumer, emit } = fakeConsumer();
  let counted = 0;
  commits.attach(consumer, () => counted++);
  const b = batch();
  await commits.afterBatch(b.c, false);
  emit('commit');
  t.equal(counted, 1);
  emit('rebalancing');
  await settle();
  t.same(b.calls, ['due', 'all']);
});

t.test('a failed timed commit waits for the next one; a new consumer drops the old handles', async (t) => {
  const clock = mockClock(t, ['setInterval']);
  const commits = new OffsetCommits(500, logs().log);
  const failing = batch(true);
  await commits.afterBatch(failing.c, false).catch(() => {});
  commits.start();
  await clock.advance(500);
  await settle();
  t.same(failing.calls, ['due', 'due'], 'the error did not stop the timer');
  commits.attach(fakeConsumer().consumer, () => {});
  await clock.advance(1_000);
  t.equal(failing.calls.length, 2, "the old consumer's handles are not used");
  await commits.close();
  t.equal(failing.calls.length, 2, 'not even at close');
});

t.test('flush commits everything resolved; a failure is logged, not thrown; nothing to flush is a no-op', async (t) => {
  const { warned, log } = logs();
  const commits = new OffsetCommits(1_000, log);
  await commits.flush();
  const ok = batch();
  await commits.afterBatch(ok.c, false);
  await commits.flush();
  t.same(ok.calls, ['due', 'all']);
  const failing = batch(true);
  await commits.afterBatch(failing.c, false).catch(() => {});
  await commits.flush();
  t.equal(warned.length, 1);
});

t.test('an interval of 0 starts no timer: every batch commits', async (t) => {
  const clock = mockClock(t, ['setInterval']);
  const commits = new OffsetCommits(0, logs().log);
  const b = batch();
  await commits.afterBatch(b.c, false);
  commits.start();
  await clock.advance(10_000);
  t.same(b.calls, ['due']);
});

t.test('a commit the coordinator does not answer holds a batch for 1 s, not for the request timeout', async (t) => {
  const { log } = logs();
  const debugged: string[] = [];
  const commits = new OffsetCommits(1_000, { ...(log as object), debug: (_o: unknown, m: string) => debugged.push(m) } as never);
  let fail: (e: Error) => void = () => {};
  let sent = 0;
  const hanging: Committer = {
    commitOffsetsIfNecessary: () => {
      sent++;
      return new Promise<void>((_, reject) => {
        fail = reject;
      });
    },
    uncommittedOffsets: () => UNCOMMITTED,
  };
  const start = performance.now();
  await commits.afterBatch(hanging, false);
  const waited = performance.now() - start;
  t.ok(waited >= 950 && waited < 2_500, `the first batch waited ${waited.toFixed(0)} ms`);
  const again = performance.now();
  await commits.afterBatch(hanging, false);
  t.ok(performance.now() - again < 50, 'the next one goes on at once');
  t.equal(sent, 1, 'and sends no second commit while the first waits for its answer');

  fail(new Error('Request OffsetCommit timed out'));
  await settle();
  t.same(debugged, ['offset commit deferred'], 'its late failure is logged, not thrown');
  const b = batch();
  await commits.afterBatch(b.c, false);
  t.same(b.calls, ['due'], 'then the next batch commits again');
});

t.test('a commit answered in time is waited for, and its failure thrown, as before', async (t) => {
  const commits = new OffsetCommits(1_000, logs().log);
  const slow: Committer = {
    commitOffsetsIfNecessary: () => new Promise<void>((_, reject) => setTimeout(() => reject(new Error('REBALANCE_IN_PROGRESS')), 100)),
    uncommittedOffsets: () => UNCOMMITTED,
  };
  await t.rejects(commits.afterBatch(slow, false), /REBALANCE_IN_PROGRESS/);
  const b = batch();
  await commits.afterBatch(b.c, false);
  t.same(b.calls, ['due'], 'the failed one is not in flight any more');
});

t.test("a new consumer's batches do not wait on the old one's unanswered commit", async (t) => {
  const commits = new OffsetCommits(1_000, logs().log);
  const hanging: Committer = { commitOffsetsIfNecessary: () => new Promise<void>(() => {}), uncommittedOffsets: () => UNCOMMITTED };
  await commits.afterBatch(hanging, false);
  commits.attach(fakeConsumer().consumer, () => {});
  const b = batch();
  const start = performance.now();
  await commits.afterBatch(b.c, false);
  t.same(b.calls, ['due'], "the new consumer's batch commits");
  t.ok(performance.now() - start < 500, 'at once');
});

t.test('a commit past its time is late whatever comes: its timeout, landing as a batch looks at it, is not thrown', async (t) => {
  const debugged: string[] = [];
  const commits = new OffsetCommits(1_000, { ...(logs().log as object), debug: (_o: unknown, m: string) => debugged.push(m) } as never);
  let fail: (e: Error) => void = () => {};
  const hanging: Committer = {
    commitOffsetsIfNecessary: () =>
      new Promise<void>((_, reject) => {
        fail = reject;
      }),
    uncommittedOffsets: () => UNCOMMITTED,
  };
  await commits.afterBatch(hanging, false);
  await new Promise((resolve) => setTimeout(resolve, 10)); // past its time for certain (a timer may fire a little early)
  // kafkajs' timer rejects the request in the turn a batch ends: before the mend, the batch raced
  // the answer against a timer of 0 ms, and the answer, first, was thrown as if in time.
  const looking = commits.afterBatch(hanging, false);
  fail(new Error('Request OffsetCommit(key: 8, version: 5) timed out'));
  await t.resolves(looking, 'not thrown: the batch goes on');
  await settle();
  t.same(debugged, ['offset commit deferred'], 'logged as late');
});

t.test("the timer's commit, late for a batch's end and then failing, is logged once", async (t) => {
  const clock = mockClock(t, ['setInterval']);
  const debugged: string[] = [];
  const commits = new OffsetCommits(1_000, { ...(logs().log as object), debug: (_o: unknown, m: string) => debugged.push(m) } as never);
  let fail: (e: Error) => void = () => {};
  let sent = 0;
  const slow: Committer = {
    commitOffsetsIfNecessary: () =>
      sent++ === 0
        ? Promise.resolve()
        : new Promise<void>((_, reject) => {
            fail = reject;
          }),
    uncommittedOffsets: () => UNCOMMITTED,
  };
  await commits.afterBatch(slow, false);
  commits.start();
  await clock.advance(1_000); // the timer's commit, unanswered
  const ending = commits.afterBatch(slow, false);
  await clock.advance(1_000); // past its time: the batch's end finds it late
  await t.resolves(ending);
  fail(new Error('Request OffsetCommit(key: 8, version: 5) timed out'));
  await settle();
  t.same(debugged, ['offset commit deferred'], 'one line, not one from the timer and one from the batch');
});

t.test('the timer sends no commit while one waits for its answer, and commits again once it is answered', async (t) => {
  const clock = mockClock(t, ['setInterval']);
  const commits = new OffsetCommits(1_000, logs().log);
  let answer: () => void = () => {};
  let sent = 0;
  const hanging: Committer = {
    commitOffsetsIfNecessary: () => {
      sent++;
      return new Promise<void>((resolve) => {
        answer = resolve;
      });
    },
    uncommittedOffsets: () => UNCOMMITTED,
  };
  commits.attach(fakeConsumer().consumer, () => {});
  commits.start();
  const ended = commits.afterBatch(hanging, false); // its end waits 1 s of the clock the test runs
  await clock.advance(1_000);
  await settle();
  await clock.advance(30_000);
  await settle();
  t.equal(sent, 1, 'a coordinator that does not answer gets one commit in flight, not one a tick (30 before)');
  answer();
  await ended;
  await clock.advance(1_000);
  await settle();
  t.equal(sent, 2, 'answered, the next tick commits');
});
