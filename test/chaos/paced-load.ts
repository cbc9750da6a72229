import type { System } from '../e2e/harness.js';
import { sleep } from '../helpers/wait.js';

/** Requests in flight at most: past it a tick is skipped (the API is down or draining), never queued up. */
const MAX_IN_FLIGHT = 64;
/** How often a client retries one Idempotency-Key after a 503 or a cut connection, a second apart. */
const KEY_TRIES = 30;

/**
 * POSTs at `rate` a second, paced on the monotonic clock. One email in four carries an
 * Idempotency-Key and is retried with it after a 503 or a cut connection, as a client that was
 * told "not confirmed" does (README, "A 503 means not confirmed"); the others are sent once.
 */
export function pacedLoad(system: System, rate: number, random: () => number) {
  let stopped = false;
  let retries = 0;
  const inFlight = new Set<Promise<void>>();
  const idsByKey = new Map<string, Set<string>>();
  const keyed = async (subject: string) => {
    for (let attempt = 0; attempt < KEY_TRIES && !stopped; attempt++) {
      if (attempt > 0) {
        retries++;
        await sleep(1_000);
      }
      const { status, id } = await system.send({ 'idempotency-key': subject }, subject);
      if (id) idsByKey.set(subject, (idsByKey.get(subject) ?? new Set()).add(id));
      if (status !== 503 && status !== 0) return;
    }
  };
  const run = (async () => {
    const started = performance.now();
    for (let n = 0; !stopped; n++) {
      const wait = started + (n * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      if (inFlight.size >= MAX_IN_FLIGHT) continue;
      const subject = `chaos-${n}`;
      const request = (random() < 0.25 ? keyed(subject) : system.send({}, subject).then(() => {})).finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await run;
      await Promise.all(inFlight);
    },
    retried: () => retries,
    /** Keys answered with more than one id: a second email for one key. */
    keysWithTwoIds: () => [...idsByKey].filter(([, ids]) => ids.size > 1).map(([key]) => key),
  };
}
