import { mock } from 'node:test';
import type { Test } from 'tap';

/** One turn of the real event loop: setImmediate is never mocked, so settled promises run their callbacks. */
export const settle = () => new Promise<void>((r) => setImmediate(r));

/**
 * node:test's mock clock for one tap test, reset at its teardown. For code whose timing is
 * wall-clock time (gaps, pauses, heartbeats): on the real clock a starved CI process stretches
 * the waits past any tolerance, on this one the assertions are exact.
 */
export function mockClock(t: Test, apis: ReadonlyArray<'setTimeout' | 'setInterval' | 'Date'>, now = 1_000_000) {
  mock.timers.enable({ apis, now });
  t.teardown(() => mock.timers.reset());
  return {
    /** Moves the clock, firing what falls due, without letting their promises settle. */
    tick: (ms: number) => mock.timers.tick(ms),
    /** Moves the clock, then lets what it fired settle. */
    advance: async (ms: number) => {
      mock.timers.tick(ms);
      await settle();
    },
  };
}

/**
 * The wall clock (Date.now) under the test's hand for one tap test: `step(ms)` moves it as NTP,
 * chrony's makestep or a VM host does, while timers and performance.now() run on undisturbed.
 * Installed before the code under test is built, so code that kept `Date.now` itself is stepped too.
 */
export function wallClock(t: Test): { step(ms: number): void } {
  const real = Date.now;
  let offset = 0;
  Date.now = () => real() + offset;
  t.teardown(() => {
    Date.now = real;
  });
  return {
    step: (ms) => {
      offset += ms;
    },
  };
}
