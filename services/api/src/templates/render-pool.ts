import { Piscina } from 'piscina';
import { BusyError } from '../errors.js';
import { findPackage } from '../lazy-module.js';
import type { Work, WorkResult } from './render-work.js';
import type { Task } from './render-worker.js';

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
/** A thread with nothing to do exits after this: an API that sends a template now and then does not keep one. */
const IDLE_MS = 60_000;
/** Each thread's heap: a render's own bounds (4 Mi characters written a part, 4 MiB rendered a request) and its compiled cache fit. */
const THREAD_HEAP_MB = 96;

export type RenderOutcome = (WorkResult & { ms: number }) | { ok: false; killed: 'time' | 'memory'; ms: number };

export interface RenderPoolOptions {
  threads: number;
  /** The thread's entry (tests give one that misbehaves). */
  filename?: URL;
  hardLimitMs?: number;
  onError?: (error: Error) => void;
}

/**
 * Parsing and rendering templates, on threads of their own (piscina): a template that runs to
 * its limits used to hold the API's event loop for up to 250 ms a request, and every other
 * request, of every key, waited that long. Now the event loop only sends the work and reads the
 * result; a task that runs past HARD_LIMIT_MS or fills its thread's heap ends that thread, not
 * the API. The threads start with the first template and stop when idle.
 */
export class RenderPool {
  private pool: Piscina | null = null;
  private nextId = 0;
  /** Tasks sent and not started yet: what to do when their thread says it started. */
  private readonly starting = new Map<number, () => void>();
  private readonly hardLimitMs: number;

  constructor(private readonly options: RenderPoolOptions) {
    this.hardLimitMs = options.hardLimitMs ?? HARD_LIMIT_MS;
  }

  async run(work: Work): Promise<RenderOutcome> {
    const pool = this.started();
    if (pool.queueSize >= MAX_QUEUED_RENDERS) throw new BusyError();
    const id = ++this.nextId;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let startedAt = performance.now();
    this.starting.set(id, () => {
      startedAt = performance.now();
      timer = setTimeout(() => abort.abort(), this.hardLimitMs);
    });
    try {
      return await pool.run({ id, work } satisfies Task, { signal: abort.signal });
    } catch (error) {
      const ms = performance.now() - startedAt;
      const killed = abort.signal.aborted ? 'time' : (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : null;
      if (!killed) throw error;
      this.replaceThread(pool);
      return { ok: false, killed, ms };
    } finally {
      clearTimeout(timer);
      this.starting.delete(id);
    }
  }

  /**
   * A thread ended under a task: piscina replaces it only up to minThreads (0 here), and the tasks
   * queued behind it would wait for the next run() to start one. An empty task starts it now.
   */
  private replaceThread(pool: Piscina): void {
    if (pool.queueSize === 0 || this.pool !== pool) return;
    const nothing: Task = { id: 0, work: { kind: 'check', content: { subject: '', html: null, text: null, variables: {} } } };
    pool.run(nothing).catch(() => {});
  }

  /** Threads running now (0 before the first template and after they idle out). */
  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }

  private started(): Piscina {
    if (this.pool) return this.pool;
    const pool = new Piscina({
      filename: (this.options.filename ?? new URL('./render-worker.js', import.meta.url)).href,
      minThreads: 0,
      maxThreads: this.options.threads,
      idleTimeout: IDLE_MS,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    // A thread's failure outside a task (its task's own failure rejects that task).
    pool.on('error', (error: Error) => this.options.onError?.(error));
    pool.on('message', (message: { started?: number }) => {
      if (typeof message?.started === 'number') this.starting.get(message.started)?.();
    });
    this.pool = pool;
    return pool;
  }
}
