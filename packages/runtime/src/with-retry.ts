import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from './config-error.js';
import type { LogSink } from './logger.js';
import { monotonicMs } from './monotonic-clock.js';

/**
 * Runs a boot step (connect, provision topics, migrate) until it succeeds or `deadlineMs`
 * passes. Dependencies are often restarting exactly when a service starts (rolling updates,
 * a broker bouncing): one refused connection must not kill the process. `signal` (the
 * service closing during boot) ends the wait at once, and so does a ConfigError: a setting
 * that is wrong now is wrong in two minutes too.
 */
export async function retryUntil<T>(
  what: string,
  fn: () => Promise<T>,
  log: LogSink,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = monotonicMs() + deadlineMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (signal?.aborted || error instanceof ConfigError || monotonicMs() + delay > deadline) throw error;
      log.warn({ err: error, step: what, retryInMs: delay }, 'boot step failed; retrying');
      await sleep(delay, undefined, { signal });
    }
  }
}
