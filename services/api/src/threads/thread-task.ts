import { parentPort } from 'node:worker_threads';

/** A task as thread-pool.ts sends it: the work, and its number for the start signal. */
export interface Task<W> {
  id: number;
  work: W;
}

/**
 * A pool thread's entry (piscina calls the module's default export with each task): `fn` over
 * the work. It says when a task starts, so the pool's hard limit counts from then and not from
 * the queue, and it measures the work's time (a template's, which its account pays for). A task
 * of `null` work is the pool's own, to start a thread (thread-pool.ts's replaceThread).
 */
export function threadTask<W, R>(fn: (work: W) => R | Promise<R>): (task: Task<W | null>) => Promise<{ result: R | null; ms: number }> {
  return async ({ id, work }) => {
    if (work === null) return { result: null, ms: 0 };
    parentPort?.postMessage({ started: id });
    const started = performance.now();
    const result = await fn(work);
    return { result, ms: performance.now() - started };
  };
}
