import type { EachBatchPayload } from 'kafkajs';
import t from 'tap';
import { processBatch } from '../src/partition-worker.js';
import type { HandleResult } from '../src/record-handler.js';

function payload(offsets: string[]) {
  const resolved: string[] = [];
  let paused = false;
  const p = {
    batch: { topic: 't', partition: 0, messages: offsets.map((offset) => ({ offset, key: null, value: null, headers: {} })) },
    resolveOffset: (o: string) => resolved.push(o),
    heartbeat: async () => {},
    isRunning: () => true,
    isStale: () => false,
    pause: () => {
      paused = true;
      return () => {};
    },
    commitOffsetsIfNecessary: async () => {},
  } as unknown as EachBatchPayload;
  return { p, resolved, paused: () => paused };
}

const options = (handle: (offset: string) => Promise<HandleResult>, concurrency = 3) => {
  const resumes: number[] = [];
  return {
    resumes,
    o: {
      concurrency,
      handle: (r: { message: { offset: string } }) => handle(r.message.offset),
      onDefer: () => {},
      onError: () => {},
      stopping: () => false,
      scheduleResume: (_resume: () => void, ms: number) => resumes.push(ms),
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
