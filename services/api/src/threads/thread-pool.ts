import { Piscina } from 'piscina';
import { BusyError } from '../errors.js';
import { clearProcessHeapFlags } from './thread-heap.js';
import type { Task } from './thread-task.js';

/** A thread with nothing to do exits after this: an API that uses a pool now and then does not keep its threads. */
const IDLE_MS = 60_000;

export type ThreadOutcome<R> = { result: R; ms: number } | { killed: 'time' | 'memory'; ms: number };

export interface ThreadPoolOptions {
  /** The threads' entry: a module whose default export is threadTask(…) (thread-task.ts). */
  filename: URL;
  threads: number;
  /** Each thread's old-generation heap (MB). */
  heapMb: number;
  /** Each thread's young generation (MB): three times its semi-space, as V8 counts it. */
  youngMb: number;
  /** The most a task may run, from its start on a thread, before that thread is terminated. */
  hardLimitMs: number;
  /** Tasks waiting for a thread at most; past it a 503 EMAIL_ERR_BUSY. */
  maxQueued: number;
  /** A thread's failure outside a task (a task's own failure rejects that task). */
  onError?: (error: Error) => void;
}

/**
 * Work that must not hold the API's event loop (a template's parse and render: render-pool.ts), on
 * threads of its own (piscina). The event loop only sends the work and reads the
 * result; a task that runs past `hardLimitMs`, or fills its thread's heap, ends that thread and
 * not the API, and the next task gets a new one. Threads start with the first task and stop idle.
 */
export class ThreadPool<W, R> {
  private pool: Piscina | null = null;
  private nextId = 0;
  /** Tasks sent and not started yet: what to do when their thread says it started. */
  private readonly starting = new Map<number, () => void>();

  constructor(private readonly options: ThreadPoolOptions) {}

  async run(work: W, transfer?: ArrayBuffer[]): Promise<ThreadOutcome<R>> {
    const pool = this.started();
    if (pool.queueSize >= this.options.maxQueued) throw new BusyError();
    const id = ++this.nextId;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let startedAt = performance.now();
    this.starting.set(id, () => {
      startedAt = performance.now();
      timer = setTimeout(() => abort.abort(), this.options.hardLimitMs);
    });
    try {
      const task: Task<W> = { id, work };
      const { result, ms } = await pool.run(task, { signal: abort.signal, ...(transfer ? { transferList: transfer } : {}) });
      return { result, ms };
    } catch (error) {
      const ms = performance.now() - startedAt;
      const killed = abort.signal.aborted ? 'time' : (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : null;
      if (!killed) throw error;
      this.replaceThread(pool);
      return { killed, ms };
    } finally {
      clearTimeout(timer);
      this.starting.delete(id);
    }
  }

  /** Threads running now (0 before the first task and after they idle out). */
  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }

  /**
   * A thread ended under a task: piscina replaces it only up to minThreads (0 here), and the tasks
   * queued behind it would wait for the next run() to start one. An empty task starts it now.
   */
  private replaceThread(pool: Piscina): void {
    if (pool.queueSize === 0 || this.pool !== pool) return;
    const nothing: Task<null> = { id: 0, work: null };
    pool.run(nothing).catch(() => {});
  }

  private started(): Piscina {
    if (this.pool) return this.pool;
    // Or the process's own heap flags would override the limits below (thread-heap.ts says why).
    clearProcessHeapFlags();
    const pool = new Piscina({
      filename: this.options.filename.href,
      minThreads: 0,
      maxThreads: this.options.threads,
      idleTimeout: IDLE_MS,
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb, maxYoungGenerationSizeMb: this.options.youngMb },
    });
    pool.on('error', (error: Error) => this.options.onError?.(error));
    pool.on('message', (message: { started?: number }) => {
      if (typeof message?.started === 'number') this.starting.get(message.started)?.();
    });
    this.pool = pool;
    return pool;
  }
}
