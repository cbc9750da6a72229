// test-plan: standalone
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { THREAD_HEAP_MB, THREAD_YOUNG_MB } from '../../src/templates/render-pool.js';
import { runOnApiHeap } from './on-api-heap.js';

const MiB = 2 ** 20;
const dist = (path: string) => JSON.stringify(new URL(`../../dist/${path}`, import.meta.url).href);

// The thread's entry, as a file plain node can load: `heap` answers with the thread's heap limit,
// `hog` fills the thread's heap (as misbehaving-render-worker.ts's does).
const worker = `
import v8 from 'node:v8';
import { threadTask } from ${dist('threads/thread-task.js')};
export default threadTask((work) => {
  if (work.content.subject === 'hog') {
    const kept = [];
    for (let i = 0; ; i++) kept.push(Array.from({ length: 10_000 }, (_, j) => i + ':' + j));
  }
  return { limit: v8.getHeapStatistics().heap_size_limit };
});`;

t.test("under the API's own heap flags, a template thread has the heap its pool gives it, and the API keeps its own", async (t) => {
  // The process runs with the API's node arguments, as `npm run api` and the image run it: its
  // --max-old-space-size (128) and --max-semi-space-size (8) used to override the thread's limits.
  const entry = join(t.testdir(), 'heap-worker.mjs');
  writeFileSync(entry, worker);
  const { exit, out } = await runOnApiHeap(`
    import v8 from 'node:v8';
    const { RenderPool } = await import(${dist('templates/render-pool.js')});
    const own = () => v8.getHeapStatistics().heap_size_limit;
    const before = own();
    const pool = new RenderPool({ threads: 1, hardLimitMs: 60_000, filename: new URL(${JSON.stringify(pathToFileURL(entry).href)}) });
    const check = (subject) => ({ kind: 'check', content: { subject, html: null, text: null, variables: {} } });
    const heap = await pool.run(check('heap'));
    const hog = await pool.run(check('hog'));
    const after = await pool.run(check('heap'));
    await pool.close();
    console.log(JSON.stringify({ before, own: own(), thread: heap.result.limit, hog: hog.killed ?? null, next: after.result.limit }));`);
  t.equal(exit, 0, 'the API process lives on');
  const { before, own, thread, hog, next } = JSON.parse(out) as Record<string, number | string | null>;
  t.equal(own, before, "the API's own heap limit did not change");
  // 128 MB old and three 8 MB semi-spaces, as V8 counts them (V8's default here is over 4 GB).
  t.ok(
    Number(before) >= 128 * MiB && Number(before) <= (128 + 3 * 8) * MiB,
    `the API's own heap limit is its flags' (${Number(before) / MiB} MiB)`,
  );
  t.ok(
    Number(thread) > THREAD_HEAP_MB * MiB && Number(thread) <= (THREAD_HEAP_MB + THREAD_YOUNG_MB) * MiB,
    `the thread's heap limit is its pool's ${THREAD_HEAP_MB} + ${THREAD_YOUNG_MB} MiB (${Number(thread) / MiB} MiB)`,
  );
  t.equal(hog, 'memory', 'a task that fills that heap ends its thread');
  t.equal(next, thread, 'and the next thread has the same limit');
});
