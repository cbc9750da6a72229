import type { LogSink } from './logger.js';

/**
 * Runs a boot step (connect, provision topics, migrate) until it succeeds or `deadlineMs`
 * passes. Dependencies are often restarting exactly when a service starts (rolling updates,
 * a broker bouncing): one refused connection must not kill the process.
 */
export async function retryUntil<T>(what: string, fn: () => Promise<T>, log: LogSink, deadlineMs: number): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() + delay > deadline) throw error;
      log.warn({ err: error, step: what, retryInMs: delay }, 'boot step failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
