import { parentPort } from 'node:worker_threads';
import { runWork, type Work, type WorkResult } from './render-work.js';

/** A task as render-pool.ts sends it: the work, and its number for the start signal. */
export interface Task {
  id: number;
  work: Work;
}

/**
 * A template thread's entry (piscina calls the default export with each task). It says when a
 * task starts, so the pool's hard limit counts from then and not from the queue, and it measures
 * the work's time, which the account pays from its render allowance.
 */
export default function renderTask({ id, work }: Task): WorkResult & { ms: number } {
  parentPort?.postMessage({ started: id });
  const started = performance.now();
  const result = runWork(work);
  return { ...result, ms: performance.now() - started };
}
