import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { LogSink } from './logger.js';
import { monotonicMs } from './monotonic-clock.js';

declare module 'fastify' {
  interface FastifyInstance {
    startup: Startup;
  }
}

/**
 * A service's boot work (waiting for Postgres and Kafka, migrating, joining the consumer group),
 * run in the background instead of inside plugins or `onReady`.
 *
 * Why: fastify bounds every plugin and `onReady` hook by `pluginTimeout` (10 s). Joining a group
 * whose dead member still holds it takes up to that member's session timeout (30 s by default),
 * and a dependency may be down for longer than 10 s while we start: the framework would kill the
 * process long before `BOOT_TIMEOUT_MS`. Here the server listens at once — `/healthz` answers while
 * the process works towards readiness, `/readyz` says what it still waits for — and only a step
 * that fails (after its own retries, up to `BOOT_TIMEOUT_MS`) ends the process.
 */
export class Startup {
  private readonly steps = new Map<string, Promise<unknown>>();
  private readonly waiting = new Set<string>();
  private readonly controller = new AbortController();
  private failure: { step: string; error: unknown } | null = null;
  private fatal: ((step: string, error: unknown) => void) | null = null;

  constructor(private readonly log: LogSink) {}

  /** Aborted when the service closes during boot: retry loops stop waiting. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts `fn` now, in the background; readiness waits for it. */
  step<T>(name: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.waiting.add(name);
    const started = monotonicMs();
    const promise = Promise.resolve()
      .then(() => fn(this.signal))
      .then(
        (value) => {
          this.waiting.delete(name);
          this.log.info({ step: name, ms: Math.round(monotonicMs() - started) }, 'boot step done');
          return value;
        },
        (error: unknown) => {
          if (!this.signal.aborted && !this.failure) {
            this.failure = { step: name, error };
            this.fatal?.(name, error);
          }
          throw error;
        },
      );
    promise.catch(() => {}); // reported through onFatal / settled()
    this.steps.set(name, promise);
    return promise;
  }

  /** The promise of a step started elsewhere (e.g. the consumer waits for the ledger's migrations). */
  when(name: string): Promise<unknown> {
    const step = this.steps.get(name);
    if (!step) throw new Error(`no boot step named ${name}`);
    return step;
  }

  /** Every step started so far is done. */
  get done(): boolean {
    return this.waiting.size === 0 && this.failure === null;
  }

  /** The steps still running, for /readyz. */
  pending(): string[] {
    return [...this.waiting];
  }

  /** Called once, with the first step that failed (src/server.ts exits so an orchestrator restarts it). */
  onFatal(handler: (step: string, error: unknown) => void): void {
    this.fatal = handler;
    if (this.failure) handler(this.failure.step, this.failure.error);
  }

  /** Resolves when every step is done; rejects with the first failure (tests await this). */
  async settled(): Promise<void> {
    for (let seen = 0; seen !== this.steps.size; ) {
      seen = this.steps.size;
      await Promise.all(this.steps.values());
    }
  }

  /** Stops the retry loops of a boot that is still running and waits for them to end. */
  async abort(): Promise<void> {
    this.controller.abort(new Error('closing during boot'));
    await Promise.allSettled(this.steps.values());
  }
}

/**
 * Decorates `app.startup`. Aborting runs in `preClose`, before any `onClose` hook: a pool or a
 * producer must not be closed under a boot step that is still using it.
 */
export const startupPlugin = fp(
  async (app: FastifyInstance) => {
    const startup = new Startup(app.log);
    app.decorate('startup', startup);
    app.addHook('preClose', async () => {
      await startup.abort();
    });
  },
  { name: 'startup' },
);
