// test-plan: standalone
import t from 'tap';
import { ResultBatcher } from '../src/result-batcher.js';

const options = { lingerMs: 0, maxBatch: 100, maxInFlight: 1, timeoutMs: 5_000 };

t.test('concurrent runs share calls, and each gets its own answer', async (t) => {
  const calls: number[][] = [];
  const b = new ResultBatcher(async (xs: number[]) => {
    calls.push(xs);
    await new Promise((r) => setTimeout(r, 5));
    return xs.map((x) => x * 10);
  }, options);
  const answers = await Promise.all([1, 2, 3, 4, 5].map((x) => b.run(x)));
  t.same(answers, [10, 20, 30, 40, 50]);
  t.ok(calls.length < 5, `${calls.length} calls for 5 runs`);
});

t.test('a failing shared call is retried one by one: only the bad request fails', async (t) => {
  const b = new ResultBatcher(async (xs: number[]) => {
    await new Promise((r) => setTimeout(r, 5));
    if (xs.includes(3)) throw new Error('bad 3');
    return xs.map((x) => x * 10);
  }, options);
  const results = await Promise.allSettled([1, 2, 3, 4].map((x) => b.run(x)));
  t.same(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [10, 20, 'bad 3', 40],
  );
});

t.test('requests that may not share a call (shareable false) each run alone', async (t) => {
  const sizes: number[] = [];
  const b = new ResultBatcher(
    async (xs: string[]) => {
      sizes.push(xs.length);
      await new Promise((r) => setTimeout(r, 5));
      return xs.map((x) => x.toUpperCase());
    },
    options,
    (xs) => new Set(xs).size === xs.length,
  );
  // 'x' goes out alone; 'a', 'a', 'b' gather behind it and hold a duplicate.
  t.same(await Promise.all(['x', 'a', 'a', 'b'].map((x) => b.run(x))), ['X', 'A', 'A', 'B']);
  t.ok(
    sizes.every((n) => n === 1),
    `every call took one request (${sizes.join(', ')})`,
  );
});
