// Waiting helpers with no import of the packages' builds, so a package's own tests (which
// compile against its src) can use them: test/helpers/env.ts re-exports them.

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every `everyMs` until it holds or `ms` have passed; resolves to its last answer,
 * so a test asserts on it rather than hanging: for waiting on a condition, never on a fixed time.
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<boolean> {
  // On the monotonic clock: a test that steps Date.now (mock-clock.ts' wallClock) would move the deadline.
  for (const end = performance.now() + ms; performance.now() < end; await sleep(everyMs)) if (await check()) return true;
  return check();
}
