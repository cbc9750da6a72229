import { findPackage } from '../lazy-module.js';
import { ThreadPool } from '../threads/thread-pool.js';
import type { EmailToRender, RenderWork, VersionSource, Work, WorkResult } from './render-work.js';

// Loaded by the template threads only, never by the API's own: an install without it fails here, at boot.
findPackage('liquidjs', 'The template engine', 'reinstall with npm ci');

/** Tasks waiting for a thread at most; past it a 503 EMAIL_ERR_BUSY (each also holds body-budget room). */
export const MAX_QUEUED_RENDERS = 64;
/**
 * The most a task may run before its thread is terminated. liquidjs checks its render limit
 * between template nodes, so a render normally ends within REQUEST_RENDER_BUDGET_MS (250 ms);
 * this is the bound for whatever does not (a filter that runs long on its own, a parser bug).
 */
export const HARD_LIMIT_MS = 1_000;
/** Each thread's heap: a render's own bounds (4 Mi characters written a part, 4 MiB rendered a request) and its compiled cache fit. */
export const THREAD_HEAP_MB = 96;
/**
 * Each thread's young generation: 1 MB semi-spaces, where the API's own thread has 8. Measured on
 * 2026-12-05 (the pool and one thread in a process with the API's flags): 3,000 small
 * renders left the process at 80-81 against 86-87 MB (3 runs and 2), 280 renders of a 2,000-item loop peaked at 96-97
 * against 115 MB (2 runs each), and a render took as long (0.054-0.068 against 0.060-0.065 ms; 21.3-21.5
 * against 21.2-22.2 ms).
 */
export const THREAD_YOUNG_MB = 3;

export interface RenderPoolOptions {
  threads: number;
  /** The thread's entry (tests give one that misbehaves). */
  filename?: URL;
  hardLimitMs?: number;
  onError?: (error: Error) => void;
}

/**
 * Parsing and rendering templates, on threads of their own (thread-pool.ts): a template that ran
 * to its limits held the API's event loop for up to 250 ms a request, and every other request, of
 * every key, waited that long.
 */
export class RenderPool extends ThreadPool<Work, WorkResult> {
  constructor({ threads, filename, hardLimitMs, onError }: RenderPoolOptions) {
    super({
      filename: filename ?? new URL('./render-worker.js', import.meta.url),
      threads,
      heapMb: THREAD_HEAP_MB,
      youngMb: THREAD_YOUNG_MB,
      hardLimitMs: hardLimitMs ?? HARD_LIMIT_MS,
      maxQueued: MAX_QUEUED_RENDERS,
      ...(onError ? { onError } : {}),
    });
  }
}

/** A render's work, its emails written as JSON (RenderWork's `emails` says why); built here, where the engine is not loaded. */
export const renderWork = (versions: VersionSource[], emails: EmailToRender[], requestBytes: number, budgetMs: number): RenderWork => ({
  kind: 'render',
  versions,
  emails: JSON.stringify(emails),
  requestBytes,
  budgetMs,
});
